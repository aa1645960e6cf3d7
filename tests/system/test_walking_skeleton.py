"""The one cross-service path of the foundation: gateway -> fines, authenticated, both regimes, both databases."""

from __future__ import annotations

from urllib.parse import quote

from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.problems import assert_problem

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]

SKELETON = f"/demo/vehicles/{quote(DEMO_PLATE)}/fines"


async def test_gateway_returns_the_demo_citizens_fines_from_the_fines_service(mesh):
    async with mesh.client("gateway") as gateway:
        response = await gateway.get(SKELETON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["plate"] == DEMO_PLATE
    assert body["regime"] == mesh.regime.value
    assert [fine["offence"] for fine in body["fines"]] == ["Running a red light", "Parking in a bus lane"]
    assert all(fine["status"] == "unpaid" for fine in body["fines"])


async def test_an_unknown_vehicle_is_a_404_problem_passed_on_from_the_department(mesh):
    async with mesh.client("gateway") as gateway:
        response = await gateway.get("/demo/vehicles/NOPE-000/fines")
    body = assert_problem(response, 404, "vehicle-not-found")
    assert body["upstream"] == "fines"


async def test_a_department_that_is_down_is_a_503_problem(mesh):
    mesh.stop("fines")
    async with mesh.client("gateway") as gateway:
        response = await gateway.get(SKELETON)
    body = assert_problem(response, 503, "upstream-unavailable")
    assert body["upstream"] == "fines"


async def test_the_identity_service_down_means_no_token_and_a_503_problem(mesh):
    mesh.stop("identity")
    async with mesh.client("gateway") as gateway:
        response = await gateway.get(SKELETON)
    assert_problem(response, 503, "upstream-unavailable")


async def test_the_fines_service_refuses_the_same_path_without_a_token(mesh):
    async with mesh.client("fines") as fines:
        response = await fines.get(f"/vehicles/{quote(DEMO_PLATE)}/fines")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
