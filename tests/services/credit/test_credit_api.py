"""The credit-sharing platform over HTTP, in the platform regime's mesh, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from kernel.clock import utc_now
from kernel.personas import by_handle
from kernel.regime import Regime
from kernel.state import ServiceState, state_of
from services.appointments.dependencies import AppointmentsState
from services.credit.dependencies import CreditState
from services.credit.domain import push_record
from services.credit.models import CreditRecordCreate
from services.credit.rules import RecordKind
from tests.fixtures.matrix import BOTH_BACKENDS, PLATFORM_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import mint

# The credit platform exists only in the platform regime; both backends.
pytestmark = [PLATFORM_ONLY, BOTH_BACKENDS, pytest.mark.started("credit", "fines", "appointments")]

CITIZEN = by_handle("wang-fang").resident_id
LAG_SECONDS = 60


@pytest.fixture
async def lagged(database_urls, tmp_path, monkeypatch):
    """The platform mesh with a settlement lag, set the way a deployment sets it."""
    monkeypatch.setenv("CITYGATE_CREDIT_SETTLEMENT_LAG_SECONDS", str(LAG_SECONDS))
    async with Mesh(Regime.PLATFORM, tmp_path, database_urls) as running:
        assert state_of(running.apps["credit"], CreditState).settings.settlement_lag_seconds == LAG_SECONDS
        yield running


def bearer(mesh: Mesh, client: str, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(mesh, client=client, scope=scope)}"}


def as_fines(mesh: Mesh) -> dict[str, str]:
    return bearer(mesh, "fines", "credit:report")


def as_appointments(mesh: Mesh) -> dict[str, str]:
    return bearer(mesh, "appointments", "credit:query")


def overdue_fine(reference: str = "17", subject: str = CITIZEN, amount_cents: int = 20000) -> dict:
    return {"subject": subject, "kind": "overdue-fine", "reference": reference, "amount_cents": amount_cents}


async def push(mesh: Mesh, body: dict, headers: dict | None = None):
    async with mesh.client("credit") as credit:
        return await credit.post("/records", json=body, headers=as_fines(mesh) if headers is None else headers)


async def settle(mesh: Mesh, source: str, reference: str, headers: dict | None = None):
    async with mesh.client("credit") as credit:
        return await credit.post(
            f"/records/{source}/{reference}/settlement", headers=as_fines(mesh) if headers is None else headers
        )


async def query(mesh: Mesh, subject: str = CITIZEN, service: str = "appointments", headers: dict | None = None):
    async with mesh.client("credit") as credit:
        return await credit.get(
            f"/subjects/{subject}/restrictions",
            params={"service": service},
            headers=as_appointments(mesh) if headers is None else headers,
        )


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- reporting --------------------------------------------------------------------------------------


async def test_a_department_reports_a_record_as_itself(mesh):
    body = overdue_fine() | {"source": "courts"}  # a claimed source in the body is ignored
    response = await push(mesh, body)
    assert response.status_code == 201, response.text
    record = response.json()
    assert (record["subject"], record["kind"], record["reference"], record["amount_cents"]) == (
        CITIZEN,
        "overdue-fine",
        "17",
        20000,
    )
    assert record["source"] == "fines"
    assert parse_time(record["recorded_at"]).utcoffset() == timedelta(0)
    assert record["settled_at"] is None and record["effective_at"] is None


async def test_the_same_report_twice_answers_the_existing_record(mesh):
    first = await push(mesh, overdue_fine())
    again = await push(mesh, overdue_fine())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


async def test_the_same_reference_with_other_details_is_a_conflict(mesh):
    await push(mesh, overdue_fine(amount_cents=20000))
    assert_problem(await push(mesh, overdue_fine(amount_cents=1)), 409, "conflicting-credit-record")


async def test_fifty_identical_concurrent_reports_make_one_record(mesh, backend):
    headers = as_fines(mesh)
    async with mesh.client("credit") as credit:
        responses = await asyncio.gather(
            *(credit.post("/records", json=overdue_fine("race-1"), headers=headers) for _ in range(50))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 49 + [201], [r.text for r in responses if r.status_code >= 300][:3]
    assert len({response.json()["id"] for response in responses}) == 1
    answer = (await query(mesh)).json()
    assert [reason["reference"] for reason in answer["reasons"]] == ["race-1"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (overdue_fine(subject="44010419900823215"), "subject"),  # 17 characters
        (overdue_fine(subject="440104199008232151"), "subject"),  # wrong check character
    ],
)
async def test_a_malformed_subject_is_refused(mesh, body, where):
    problem = assert_problem(await push(mesh, body), 422, "invalid-subject")
    assert "resident identity number" in problem["detail"]


@pytest.mark.parametrize(
    "body",
    [
        overdue_fine() | {"kind": "jaywalking"},
        overdue_fine() | {"amount_cents": -1},
        overdue_fine() | {"reference": ""},
        {"subject": CITIZEN, "kind": "overdue-fine"},
    ],
)
async def test_a_malformed_body_is_refused(mesh, body):
    problem = assert_problem(await push(mesh, body), 422, "invalid-request")
    assert problem["errors"]


# --- who may call ---------------------------------------------------------------------------------


async def test_without_a_token_every_endpoint_is_401(mesh):
    for response in (
        await push(mesh, overdue_fine(), headers={}),
        await settle(mesh, "fines", "17", headers={}),
        await query(mesh, headers={}),
    ):
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_only_the_declared_departments_may_report_and_query(mesh):
    # appointments may query, not report; fines may report, not query
    assert_problem(
        await push(mesh, overdue_fine(), headers=bearer(mesh, "appointments", "credit:report")), 403, "forbidden-caller"
    )
    assert_problem(await settle(mesh, "fines", "17", headers=as_appointments(mesh)), 403, "forbidden-caller")
    assert_problem(await query(mesh, headers=bearer(mesh, "fines", "credit:query")), 403, "forbidden-caller")
    assert_problem(await query(mesh, headers=as_fines(mesh)), 403, "forbidden-caller")
    assert (await query(mesh)).json()["restricted"] is False  # nothing was written


async def test_the_departments_reach_the_platform_with_tokens_from_the_identity_service(mesh):
    """The real path: client credentials with private_key_jwt, scopes from kernel/access.py."""
    fines = state_of(mesh.apps["fines"], ServiceState).services
    response = await fines.request("credit", "POST", "/records", json=overdue_fine("42"))
    assert response.status_code == 201, response.text
    appointments = state_of(mesh.apps["appointments"], AppointmentsState).services
    answer = await appointments.get_json("credit", f"/subjects/{CITIZEN}/restrictions?service=appointments")
    assert answer["restricted"] and answer["reasons"][0]["reference"] == "42"


# --- settlement -----------------------------------------------------------------------------------


async def test_settling_with_no_lag_lifts_the_restriction_at_once(mesh):
    await push(mesh, overdue_fine())
    assert (await query(mesh)).json()["restricted"] is True
    response = await settle(mesh, "fines", "17")
    assert response.status_code == 202, response.text
    record = response.json()
    assert record["settled_at"] is not None and record["effective_at"] == record["settled_at"]
    assert (await query(mesh)).json() == {
        "subject": CITIZEN,
        "service": "appointments",
        "restricted": False,
        "reasons": [],
    }


async def test_settling_twice_is_the_same_settlement(mesh):
    await push(mesh, overdue_fine())
    first, again = await settle(mesh, "fines", "17"), await settle(mesh, "fines", "17")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()


async def test_only_the_source_settles_its_record(mesh):
    credit = mesh.apps["credit"]
    with state_of(credit, CreditState).database.session() as session:  # the courts report through their own channel
        push_record(
            session,
            CreditRecordCreate(
                subject=CITIZEN, kind=RecordKind.UNPAID_COURT_JUDGMENT, reference="J-9", amount_cents=500000
            ),
            source="courts",
            now=utc_now(),
        )
    assert_problem(await settle(mesh, "courts", "J-9"), 403, "not-record-source")
    assert_problem(await settle(mesh, "fines", "J-9"), 404, "credit-record-not-found")
    assert (await query(mesh, service="hotel-booking")).json()["restricted"] is True


async def test_a_paid_debt_still_blocks_until_the_lag_has_passed(lagged):
    await push(lagged, overdue_fine())
    settled = (await settle(lagged, "fines", "17")).json()
    settled_at, effective_at = parse_time(settled["settled_at"]), parse_time(settled["effective_at"])
    assert effective_at - settled_at == timedelta(seconds=LAG_SECONDS)

    answer = (await query(lagged)).json()
    assert answer["restricted"] is True
    [reason] = answer["reasons"]
    assert parse_time(reason["settled_at"]) == settled_at
    assert (reason["kind"], reason["source"], reason["reference"]) == ("overdue-fine", "fines", "17")

    credit = lagged.apps["credit"]
    state_of(credit, CreditState).clock = lambda: effective_at  # the clock moves on, nobody waits
    try:
        assert (await query(lagged)).json()["restricted"] is False
    finally:
        state_of(credit, CreditState).clock = utc_now


# --- the blacklist query -------------------------------------------------------------------------


async def test_an_unknown_citizen_is_not_restricted(mesh):
    response = await query(mesh, subject=by_handle("liu-yang").resident_id)
    assert response.status_code == 200
    assert response.json()["restricted"] is False


async def test_a_malformed_subject_or_service_is_refused(mesh):
    assert_problem(await query(mesh, subject="not-a-resident-id"), 422, "invalid-subject")
    assert_problem(await query(mesh, service="space-travel"), 422, "invalid-request")


async def test_the_demo_blacklists_chen_jun_for_appointments_not_for_hotels(mesh):
    blacklisted = by_handle("chen-jun")
    # The credit platform holds no demo data of its own: the traffic police report his overdue fine.
    await mesh.apps["fines"].state.service.worker.run_once()
    answer = (await query(mesh, subject=blacklisted.resident_id)).json()
    assert answer["restricted"] is True
    assert [r["source"] for r in answer["reasons"]] == ["fines"]
    assert (await query(mesh, subject=blacklisted.resident_id, service="hotel-booking")).json()["restricted"] is False


async def test_every_body_has_a_schema(mesh):
    async with mesh.client("credit") as credit:
        spec = (await credit.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert {"CreditRecordCreate", "CreditRecordPublic", "RestrictionsPublic", "RestrictionReason"} <= set(schemas)
    report = spec["paths"]["/records"]["post"]
    assert report["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CreditRecordCreate")
    assert {"200", "201"} <= set(report["responses"])
