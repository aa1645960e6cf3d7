"""A department learns only its own sector's subject for a citizen, and stores only that."""

from __future__ import annotations

import pytest

from kernel.personas import by_handle
from kernel.regime import Regime
from services.fines.models import Vehicle
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.oidc_rp import RelyingParty, tokens_for
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import mint

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("fines")]

CAR_OWNER = by_handle("li-wei")


async def ask(mesh, client: str, resident_id: str = CAR_OWNER.resident_id):
    token = mint(mesh, client=client, scope="identity:sector-subject", audience="urn:citygate:identity")
    async with mesh.client("identity") as identity:
        return await identity.post(
            "/sector-subjects", json={"resident_id": resident_id}, headers={"Authorization": f"Bearer {token}"}
        )


async def test_each_department_gets_the_subject_its_sector_sees_at_login(mesh):
    answers = {client: (await ask(mesh, client)).json()["subject"] for client in ("fines", "appointments")}
    _, fines_login = await tokens_for(RelyingParty(mesh, "fines"))
    assert answers["fines"] == fines_login["sub"]
    if mesh.regime is Regime.PLATFORM:
        assert set(answers.values()) == {CAR_OWNER.resident_id}
    else:
        assert answers["fines"] != answers["appointments"]
        assert CAR_OWNER.resident_id not in answers.values()


async def test_the_traffic_police_store_the_owner_by_their_own_subject_only(mesh):
    with mesh.apps["fines"].state.service.database.session() as session:
        car = session.get(Vehicle, CAR_OWNER.plate)
    _, fines_login = await tokens_for(RelyingParty(mesh, "fines"))
    assert car.owner_ref == fines_login["sub"]
    assert (car.owner_ref == CAR_OWNER.resident_id) is (mesh.regime is Regime.PLATFORM)


async def test_only_departments_may_ask_and_only_about_real_citizens(mesh):
    assert_problem(await ask(mesh, "gateway"), 403, "forbidden-caller")
    assert_problem(await ask(mesh, "fines", "110105194912310021"), 422, "invalid-resident-id")
    assert_problem(await ask(mesh, "fines", "11010519491231002X"), 404, "citizen-not-found")
