"""The civil affairs bureau's register desk records marriages (``POST /marriages``,
services/appointments/operator_routes.py), in both regimes, on SQLite and PostgreSQL: once, under the
spouses' civil-registry subjects, for the bureau's own operators only; a divorce then names the spouse."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import or_
from sqlmodel import col, select

from kernel.personas import by_handle
from kernel.regime import Regime
from services.appointments.demo import HUSBAND, MARRIED_ON, WIFE
from services.appointments.models import Marriage
from tests.fixtures.appointments import bearer, book, bureau_state, slots
from tests.fixtures.logins import app_tokens
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES, SQLITE_ONLY, input_check
from tests.fixtures.mesh import Mesh
from tests.fixtures.operators import at_desk, enrol, operator, resident
from tests.fixtures.problems import assert_problem
from tests.fixtures.subjects import pseudonym
from tests.fixtures.tokens import service_bearer

# Both regimes on SQLite; what depends on the database's own locking (the concurrent requests) on
# PostgreSQL too.
pytestmark = [BOTH_REGIMES, SQLITE_ONLY]

ON = "2015-05-20"


async def registering(mesh: Mesh, body, headers: dict[str, str] | None = None):
    return await at_desk(mesh, "appointments", "/marriages", body, headers=headers)


def marriage(first: str, second: str, on: str = ON) -> dict:
    return {"spouses": [first, second], "registered_on": on}


async def couple(mesh: Mesh, n: int) -> tuple[str, str]:
    """Two newly enrolled residents' resident IDs (test residents ``n`` and ``n + 1``)."""
    return (await enrol(mesh, n))["resident_id"], (await enrol(mesh, n + 1))["resident_id"]


async def subject(mesh: Mesh, resident_id: str) -> str:
    return await mesh.apps["appointments"].state.service.services.sector_subject(resident_id)


def marriages_of(mesh: Mesh, who: str) -> list[Marriage]:
    with bureau_state(mesh).database.session() as session:
        return list(
            session.exec(
                select(Marriage).where(or_(col(Marriage.spouse_a) == who, col(Marriage.spouse_b) == who))
            ).all()
        )


async def test_a_marriage_is_recorded_under_the_spouses_civil_registry_subjects(mesh):
    first, second = await couple(mesh, 50)
    response = await registering(mesh, marriage(first, second))
    assert response.status_code == 201, response.text
    answer = response.json()
    subjects = [await subject(mesh, first), await subject(mesh, second)]
    assert (answer["spouses"], answer["registered_on"]) == (subjects, ON)
    [row] = marriages_of(mesh, subjects[0])
    assert (row.id, row.spouse_a, row.spouse_b, str(row.registered_on)) == (answer["id"], *subjects, ON)
    if mesh.regime is Regime.RIGHTS:  # the bureau keeps the pseudonyms, never the resident IDs it was shown
        assert marriages_of(mesh, first) == [] and first not in subjects
    else:
        assert subjects == [first, second]


async def test_a_divorce_then_names_the_spouse_the_desk_recorded(mesh):
    first, second = await couple(mesh, 52)
    await registering(mesh, marriage(first, second))
    async with mesh.client("appointments") as bureau:
        bureau.headers.update(bearer(mesh))
        slot = (await slots(bureau, "divorce"))[0]
        booked = await book(bureau, slot, await subject(mesh, second))
        assert booked.status_code == 201, booked.text
        [seen] = (await bureau.get("/bookings", params={"subject": await subject(mesh, first)})).json()
    assert (seen["id"], seen["role"], seen["awaiting_your_confirmation"]) == (booked.json()["id"], "partner", True)


async def test_the_same_marriage_again_in_either_order_is_200_and_changes_nothing(mesh):
    first, second = await couple(mesh, 54)
    created = await registering(mesh, marriage(first, second))
    again = await registering(mesh, marriage(first, second))
    reversed_ = await registering(mesh, marriage(second.lower(), first))
    assert (created.status_code, again.status_code, reversed_.status_code) == (201, 200, 200)
    assert again.json() == created.json()
    assert reversed_.json()["id"] == created.json()["id"]
    assert reversed_.json()["spouses"] == created.json()["spouses"][::-1]  # in the order given
    assert len(marriages_of(mesh, await subject(mesh, first))) == 1


async def test_the_demo_couples_marriage_is_on_record_as_the_desk_records_one(mesh):
    again = await registering(mesh, marriage(HUSBAND.resident_id, WIFE.resident_id, MARRIED_ON.isoformat()))
    assert again.status_code == 200, again.text
    assert again.json()["spouses"] == [
        await pseudonym(mesh, "appointments", HUSBAND.handle),
        await pseudonym(mesh, "appointments", WIFE.handle),
    ]


async def test_the_same_couple_on_another_day_is_a_409_and_the_record_stands(mesh):
    first, second = await couple(mesh, 56)
    await registering(mesh, marriage(first, second))
    problem = assert_problem(
        await registering(mesh, marriage(first, second, "2016-01-01")), 409, "marriage-recorded-otherwise"
    )
    assert problem["registered_on"] == ON
    [row] = marriages_of(mesh, await subject(mesh, first))
    assert str(row.registered_on) == ON


@pytest.mark.parametrize("married", ["first", "second"])
async def test_a_spouse_married_to_someone_else_is_a_409_and_nothing_is_recorded(mesh, married):
    first, second = await couple(mesh, 58)
    third = (await enrol(mesh, 60))["resident_id"]
    await registering(mesh, marriage(first, second))
    spouses = [first, third] if married == "first" else [third, first]
    problem = assert_problem(await registering(mesh, marriage(*spouses)), 409, "already-married")
    assert f"{married} spouse" in problem["detail"]
    assert marriages_of(mesh, await subject(mesh, third)) == []
    # the demo seed's couple too: Zhang Min is married to Chen Jun
    assert_problem(await registering(mesh, marriage(third, WIFE.resident_id)), 409, "already-married")


async def test_a_spouse_identity_has_not_enrolled_is_a_422(mesh):
    first = (await enrol(mesh, 61))["resident_id"]
    stranger = resident(62)["resident_id"]
    assert_problem(await registering(mesh, marriage(first, stranger)), 422, "resident-not-enrolled")
    assert marriages_of(mesh, await subject(mesh, first)) == []


# --- how would I attack this? ---------------------------------------------------------------------

SOMEONE = by_handle("li-wei").resident_id


@input_check
@pytest.mark.parametrize(
    "body",
    [
        marriage(SOMEONE, SOMEONE),  # the same person twice
        marriage(SOMEONE, SOMEONE.lower() if SOMEONE.endswith("X") else SOMEONE),
        marriage(SOMEONE, "440106198504121379"),  # wrong check character
        marriage(SOMEONE, "44010619850412137"),  # 17 characters
        {"spouses": [SOMEONE], "registered_on": ON},
        {"spouses": [SOMEONE, WIFE.resident_id, HUSBAND.resident_id], "registered_on": ON},
        {"spouses": [SOMEONE] * 100, "registered_on": ON},
        marriage(SOMEONE, WIFE.resident_id, "0001-01-01"),
        marriage(SOMEONE, WIFE.resident_id, "20150520"),
        {"spouses": SOMEONE, "registered_on": ON},
        {"registered_on": ON},
        [],
    ],
)
async def test_a_malformed_registration_is_a_422_problem(mesh, body):
    problem = assert_problem(await registering(mesh, body), 422, "invalid-request")
    assert problem["errors"]


async def test_an_enormous_body_is_refused_unread(mesh):
    body = marriage(SOMEONE, WIFE.resident_id) | {"padding": "x" * 10_000_000}
    assert_problem(await registering(mesh, body), 413, "body-too-large")


async def test_only_the_bureaus_own_operator_may_record_a_marriage(mesh):
    first, second = await couple(mesh, 63)
    app_token = (await app_tokens(mesh, by_handle("li-wei"), "appointments"))["appointments"]
    for headers in (
        {},
        service_bearer(mesh, "appointments:read appointments:book", client="gateway"),  # the gateway's token
        {"Authorization": f"Bearer {app_token}"},  # a citizen's own app
        operator(mesh, "identity"),  # another service's operator
        operator(mesh, "fines"),
    ):
        refused = await registering(mesh, marriage(first, second), headers=headers)
        assert_problem(refused, 401, "operator-unauthenticated")
    assert marriages_of(mesh, await subject(mesh, first)) == []


@BOTH_BACKENDS
async def test_fifty_identical_concurrent_registrations_make_one_marriage(mesh):
    first, second = await couple(mesh, 65)
    headers = operator(mesh, "appointments")
    async with mesh.client("appointments") as bureau:
        responses = await asyncio.gather(
            *(bureau.post("/marriages", json=marriage(first, second), headers=headers) for _ in range(50))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 49 + [201], [r.text for r in responses if r.status_code >= 300][:3]
    assert len({response.json()["id"] for response in responses}) == 1
    assert len(marriages_of(mesh, await subject(mesh, first))) == 1


@BOTH_BACKENDS
async def test_one_person_in_two_concurrent_marriages_is_married_once(mesh):
    first, second = await couple(mesh, 67)
    third = (await enrol(mesh, 69))["resident_id"]
    headers = operator(mesh, "appointments")
    async with mesh.client("appointments") as bureau:
        responses = await asyncio.gather(
            *(bureau.post("/marriages", json=marriage(first, other), headers=headers) for other in (second, third) * 5)
        )
    assert sorted({response.status_code for response in responses}) == [200, 201, 409]
    assert [response.status_code for response in responses].count(201) == 1
    assert len(marriages_of(mesh, await subject(mesh, first))) == 1
