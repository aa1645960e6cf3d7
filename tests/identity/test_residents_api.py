"""The household registration office enrols residents at the identity provider (``POST /residents``,
identity/operator_routes.py), in both regimes, on SQLite and PostgreSQL: once, with what it was told,
for its own operators only."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import date

import pytest
from sqlmodel import col, func, select

from identity.models import Citizen, SectorSubject
from identity.totp import totp
from kernel.personas import by_handle
from kernel.regime import Regime
from kernel.resident_id import check_character, make_resident_id
from tests.fixtures.logins import app_tokens
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES, SQLITE_ONLY, input_check
from tests.fixtures.mesh import Mesh
from tests.fixtures.operators import PASSWORD, at_desk, enrol, operator, resident
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import service_bearer
from workshop.citizen_app import citizen_token

# Both regimes on SQLite; what depends on the database's own locking (the concurrent requests) on
# PostgreSQL too.
pytestmark = [BOTH_REGIMES, SQLITE_ONLY, pytest.mark.started("identity", "fines")]

PERSONA = by_handle("wang-fang")


async def enrolling(mesh: Mesh, body: dict, headers: dict[str, str] | None = None):
    return await at_desk(mesh, "identity", "/residents", body, headers=headers)


def citizens(mesh: Mesh, *where) -> list[Citizen]:
    with mesh.apps["identity"].state.service.database.session() as session:
        return list(session.exec(select(Citizen).where(*where)).all())


def stored(mesh: Mesh, handle: str) -> Citizen:
    [citizen] = citizens(mesh, col(Citizen.handle) == handle)
    return citizen


# --- enrolling ------------------------------------------------------------------------------------


async def test_an_enrolled_resident_logs_in_and_departments_learn_their_sectors_subject(mesh):
    body = resident(1)
    response = await enrolling(mesh, body)
    assert response.status_code == 201, response.text
    assert response.json() == {"handle": body["handle"], "resident_id": body["resident_id"]}
    citizen = stored(mesh, body["handle"])
    assert (citizen.name, citizen.phone, citizen.address) == (body["name"], body["phone"], body["address"])
    assert PASSWORD not in citizen.password_hash and citizen.password_hash.startswith("scrypt$")

    secret = base64.b32decode(body["totp_secret"] + "=" * (-len(body["totp_secret"]) % 8))
    async with mesh.client("identity") as identity:
        tokens = await citizen_token(
            identity,
            username=body["handle"],
            password=PASSWORD,
            resource_service="fines",
            totp_code=lambda: totp(secret, time.time()),
        )
    subject = await mesh.apps["fines"].state.service.services.sector_subject(body["resident_id"])
    assert tokens.subject == subject
    if mesh.regime is Regime.PLATFORM:
        assert subject == body["resident_id"]  # one universal identifier
    else:
        assert body["resident_id"] not in subject  # the transport sector's pseudonym
        with mesh.apps["identity"].state.service.database.session() as session:
            indexed = session.exec(
                select(func.count()).select_from(SectorSubject).where(SectorSubject.citizen_id == citizen.id)
            ).one()
        assert indexed >= 3  # a subject in every sector, indexed at enrolment


async def test_the_same_enrolment_again_is_200_and_changes_nothing(mesh):
    body = resident(2)
    first = await enrolling(mesh, body)
    before = stored(mesh, body["handle"])
    again = await enrolling(mesh, body | {"totp_secret": body["totp_secret"].lower()})  # as typed from a screen
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    after = stored(mesh, body["handle"])
    assert after.model_dump() == before.model_dump()  # the password not even hashed anew


async def test_a_lower_case_check_character_is_the_same_resident(mesh):
    with_x = next(
        resident_id
        for resident_id in (make_resident_id("440106", date(1988, 8, 8), sequence) for sequence in range(1000))
        if resident_id.endswith("X")
    )
    body = resident(3, resident_id=with_x)
    response = await enrolling(mesh, body | {"resident_id": body["resident_id"].lower()})
    assert response.status_code == 201, response.text
    assert response.json()["resident_id"] == body["resident_id"]
    assert (await enrolling(mesh, body)).status_code == 200


@pytest.mark.parametrize(
    ("clash", "taken"),
    [
        ({"handle": "resident-0004"}, ["handle"]),
        ({"phone": "+8613900000004"}, ["phone"]),
        ({"resident_id": "<of 4>"}, ["resident_id"]),
    ],
    ids=["handle", "phone", "resident-id"],
)
async def test_a_handle_phone_or_resident_id_enrolled_for_someone_else_is_a_409(mesh, clash, taken):
    enrolled = await enrol(mesh, 4)
    if clash.get("resident_id") == "<of 4>":
        clash = {"resident_id": enrolled["resident_id"]}
    problem = assert_problem(await enrolling(mesh, resident(5) | clash), 409, "already-enrolled")
    assert problem["taken"] == taken
    assert citizens(mesh, col(Citizen.handle) == "resident-0005") == []


async def test_a_persona_enrolled_by_the_demo_seed_cannot_be_enrolled_as_someone_else(mesh):
    problem = assert_problem(
        await enrolling(mesh, resident(6, resident_id=PERSONA.resident_id, phone=PERSONA.phone)),
        409,
        "already-enrolled",
    )
    assert problem["taken"] == ["phone", "resident_id"]


@pytest.mark.parametrize(
    ("change", "differing"),
    [
        ({"name": "另一个名字 (Another Name)"}, ["name"]),
        ({"address": "1 Other Road"}, ["address"]),
        ({"phone": "+8613911111111"}, ["phone"]),
        ({"password": "another password"}, ["password"]),
        ({"totp_secret": base64.b32encode(b"another totp secret!").decode()}, ["totp_secret"]),
    ],
    ids=["name", "address", "phone", "password", "totp-secret"],
)
async def test_the_same_resident_with_other_details_is_a_409_and_nothing_changes(mesh, change, differing):
    body = await enrol(mesh, 7)
    before = stored(mesh, body["handle"])
    problem = assert_problem(await enrolling(mesh, body | change), 409, "already-enrolled")
    assert problem["differing"] == differing
    assert stored(mesh, body["handle"]).model_dump() == before.model_dump()


VALID = make_resident_id("440106", date(1990, 1, 2), 232)


def with_check_character(first17: str) -> str:
    return first17 + check_character(first17)


@input_check
@pytest.mark.parametrize(
    ("resident_id", "reason"),
    [
        (VALID[:-1] + ("1" if VALID[-1] == "0" else "0"), "check character"),
        (with_check_character("44010619900230232"), "date"),  # 30 February
        (with_check_character("44010620990101232"), "future"),
        (with_check_character("99010619900102232"), "province"),
    ],
)
async def test_an_invalid_resident_id_is_a_422_and_nothing_is_written(mesh, resident_id, reason):
    problem = assert_problem(await enrolling(mesh, resident(8, resident_id=resident_id)), 422, "invalid-resident-id")
    assert reason in problem["detail"]
    assert citizens(mesh, col(Citizen.handle) == "resident-0008") == []


# --- how would I attack this? ---------------------------------------------------------------------


@input_check
@pytest.mark.parametrize(
    "change",
    [
        {"password": "7 chars"},
        {"password": "p" * 201},
        {"totp_secret": "not base32!"},
        {"totp_secret": base64.b32encode(b"x" * 15).decode()},  # 120 bits: too short a secret
        {"totp_secret": base64.b32encode(b"x" * 65).decode()},
        {"totp_secret": "A" * 105},
        {"handle": "Resident-9"},  # upper case
        {"handle": "8613900000009"},  # would read as a phone number at the login form
        {"handle": "+8613900000009"},
        {"handle": "r" * 65},
        {"phone": "13900000009"},  # not E.164
        {"phone": "+86139000000091234"},
        {"name": "   "},
        {"name": "n" * 201},
        {"address": ""},
        {"address": "a" * 301},
        {"resident_id": "4401061990010223211"},  # 19 characters
        {"resident_id": 440106199001022321},  # a number, not a string
        {"handle": None},
    ],
)
async def test_a_malformed_enrolment_is_a_422_problem(mesh, change):
    problem = assert_problem(await enrolling(mesh, resident(9) | change), 422, "invalid-request")
    assert problem["errors"]
    assert citizens(mesh, col(Citizen.phone) == resident(9)["phone"]) == []


@input_check
@pytest.mark.parametrize("body", [[], "resident", {}, {"handle": "resident-0009"}])
async def test_a_body_that_is_no_enrolment_is_a_422_problem(mesh, body):
    assert_problem(await enrolling(mesh, body), 422, "invalid-request")


async def test_an_enormous_body_is_refused_unread(mesh):
    assert_problem(await enrolling(mesh, resident(10, address="a" * 10_000_000)), 413, "body-too-large")


async def test_only_the_identity_services_own_operator_may_enrol(mesh):
    body = resident(11)
    app_token = (await app_tokens(mesh, by_handle("li-wei"), "identity"))["identity"]
    for headers in (
        {},
        service_bearer(mesh, "identity:sector-subject", client="fines"),  # a department's service token
        service_bearer(mesh, "fines:read", client="gateway"),  # the gateway's
        {"Authorization": f"Bearer {app_token}"},  # a citizen's own app
        operator(mesh, "fines"),  # another service's operator
        {"Authorization": f"Operator {mesh.apps['identity'].state.service.signing_key.kid}"},
    ):
        response = await enrolling(mesh, body, headers=headers)
        assert_problem(response, 401, "operator-unauthenticated")
        assert response.headers["www-authenticate"].startswith("Operator")
    assert citizens(mesh, col(Citizen.handle) == body["handle"]) == []


@BOTH_BACKENDS
async def test_fifty_identical_concurrent_enrolments_make_one_citizen(mesh):
    body = resident(12)
    async with mesh.client("identity") as identity:
        responses = await asyncio.gather(
            *(identity.post("/residents", json=body, headers=operator(mesh, "identity")) for _ in range(50))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 49 + [201], [r.text for r in responses if r.status_code >= 300][:3]
    assert {response.json()["resident_id"] for response in responses} == {body["resident_id"]}
    assert len(citizens(mesh, col(Citizen.resident_id) == body["resident_id"])) == 1


@BOTH_BACKENDS
async def test_concurrent_enrolments_of_two_people_with_one_phone_enrol_one(mesh):
    first, second = resident(13), resident(14, phone=resident(13)["phone"])
    async with mesh.client("identity") as identity:
        responses = await asyncio.gather(
            *(identity.post("/residents", json=body, headers=operator(mesh, "identity")) for body in (first, second))
        )
    assert sorted(response.status_code for response in responses) == [201, 409]
    assert len(citizens(mesh, col(Citizen.phone) == first["phone"])) == 1
