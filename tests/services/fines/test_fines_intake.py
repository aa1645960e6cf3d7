"""The vehicle registry and the cameras put their facts in at the traffic police (``POST /vehicles``,
``POST /fines``, services/fines/operator_routes.py), in both regimes, on SQLite and PostgreSQL: once,
under the owner's sector subject, for the department's own operators only; an overdue fine recorded
this way goes to the credit platform on the platform exactly as the demo's does."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from kernel.personas import by_handle
from kernel.regime import Regime
from services.credit.models import CreditRecord
from services.fines.domain import CHINA_STANDARD_TIME, china_date
from services.fines.models import CreditOutboxEntry, Fine, FineStatus, Vehicle
from tests.fixtures.fines import DEMO_PLATE, citizen_fines, subject_of
from tests.fixtures.logins import app_tokens
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES, PLATFORM_ONLY, SQLITE_ONLY, input_check
from tests.fixtures.mesh import Mesh
from tests.fixtures.operators import at_desk, enrol, operator, resident
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import service_bearer

# Both regimes on SQLite; what depends on the database's own locking (the concurrent requests) on
# PostgreSQL too.
pytestmark = [BOTH_REGIMES, SQLITE_ONLY, pytest.mark.started("fines", "credit")]

OWNER, OTHER = by_handle("wang-fang"), by_handle("zhang-min")  # no car of their own in the demo
PLATE = "粤B24680"


async def registering(mesh: Mesh, body: dict, headers: dict[str, str] | None = None):
    return await at_desk(mesh, "fines", "/vehicles", body, headers=headers)


async def recording(mesh: Mesh, body: dict, headers: dict[str, str] | None = None):
    return await at_desk(mesh, "fines", "/fines", body, headers=headers)


def vehicle(plate: str = PLATE, owner: str = OWNER.resident_id) -> dict:
    return {"plate": plate, "owner_resident_id": owner}


def capture(reference: str = "cam-0001", plate: str = PLATE, **overrides) -> dict:
    """A camera's record: an offence two weeks ago, due in three weeks (as of the service's own today)."""
    today = datetime.now(CHINA_STANDARD_TIME).date()
    return {
        "reference": reference,
        "plate": plate,
        "offence": "Running a red light",
        "place": "Huangpu Avenue / Kexue Avenue",
        "occurred_at": (datetime.now(CHINA_STANDARD_TIME) - timedelta(days=14)).replace(microsecond=0).isoformat(),
        "amount_cents": 20000,
        "due_date": (today + timedelta(days=21)).isoformat(),
        "source": "camera",
    } | overrides


async def registered(mesh: Mesh, plate: str = PLATE, owner: str = OWNER.resident_id) -> dict:
    response = await registering(mesh, vehicle(plate, owner))
    assert response.status_code == 201, response.text
    return response.json()


def stored(mesh: Mesh, model, *where) -> list:
    with mesh.apps["fines"].state.service.database.session() as session:
        return list(session.exec(select(model).where(*where)).all())


# --- the vehicle registry --------------------------------------------------------------------------


async def test_a_car_is_registered_to_the_subject_its_owners_sector_knows(mesh):
    answer = await registered(mesh)
    owner = await subject_of(mesh, OWNER)
    assert answer == {"plate": PLATE, "owner_ref": owner}
    [row] = stored(mesh, Vehicle, col(Vehicle.plate) == PLATE)
    assert row.owner_ref == owner
    if mesh.regime is Regime.PLATFORM:
        assert owner == OWNER.resident_id
    else:  # the department never keeps the resident ID it was shown
        assert OWNER.resident_id not in owner
        assert stored(mesh, Vehicle, col(Vehicle.owner_ref) == OWNER.resident_id) == []


async def test_the_same_registration_again_is_200_and_a_lower_case_x_is_the_same_owner(mesh):
    first = await registered(mesh, owner=OTHER.resident_id)
    again = await registering(mesh, vehicle(owner=OTHER.resident_id.lower()))
    assert again.status_code == 200 and again.json() == first
    # the demo seed's car is registered the same way: registering it again changes nothing
    demo_car = await registering(mesh, vehicle(DEMO_PLATE, by_handle("li-wei").resident_id))
    assert demo_car.status_code == 200, demo_car.text
    assert len(stored(mesh, Vehicle)) == 3


async def test_a_plate_registered_to_someone_else_is_a_409_and_stays_theirs(mesh):
    await registered(mesh)
    assert_problem(await registering(mesh, vehicle(owner=OTHER.resident_id)), 409, "plate-registered-to-another")
    [row] = stored(mesh, Vehicle, col(Vehicle.plate) == PLATE)
    assert row.owner_ref == await subject_of(mesh, OWNER)


async def test_an_owner_identity_has_not_enrolled_is_a_422(mesh):
    stranger = resident(40)["resident_id"]  # a valid resident ID nobody enrolled
    problem = assert_problem(await registering(mesh, vehicle(owner=stranger)), 422, "resident-not-enrolled")
    assert stranger not in problem["detail"]
    await enrol(mesh, 40)
    assert (await registering(mesh, vehicle(owner=stranger))).status_code == 201  # once enrolled


async def test_an_identity_service_that_is_down_registers_nothing(mesh):
    mesh.stop("identity")
    try:
        assert_problem(await registering(mesh, vehicle()), 503, "upstream-unavailable")
    finally:
        mesh.start("identity")
    assert stored(mesh, Vehicle, col(Vehicle.plate) == PLATE) == []


# --- the cameras ----------------------------------------------------------------------------------


async def test_a_camera_records_a_fine_the_owner_then_sees(mesh):
    await registered(mesh)
    body = capture()
    response = await recording(mesh, body)
    assert response.status_code == 201, response.text
    fine = response.json()
    assert {key: fine[key] for key in ("reference", "plate", "offence", "place", "amount_cents", "source")} == {
        key: body[key] for key in ("reference", "plate", "offence", "place", "amount_cents", "source")
    }
    assert datetime.fromisoformat(fine["occurred_at"]) == datetime.fromisoformat(body["occurred_at"])
    assert (fine["due_date"], fine["status"], fine["paid_at"]) == (body["due_date"], "unpaid", None)
    assert [(f["id"], f["offence"]) for f in await citizen_fines(mesh, OWNER)] == [(fine["id"], body["offence"])]


async def test_the_same_capture_again_is_the_same_fine(mesh):
    await registered(mesh)
    body = capture()
    first = await recording(mesh, body)
    # the same instant written in another offset is the same capture
    occurred = datetime.fromisoformat(body["occurred_at"]).astimezone(UTC).isoformat()
    again = await recording(mesh, body | {"occurred_at": occurred, "offence": "  Running a red light "})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(stored(mesh, Fine, col(Fine.plate) == PLATE)) == 1


@pytest.mark.parametrize(
    ("change", "differing"),
    [
        ({"amount_cents": 1}, ["amount_cents"]),
        ({"offence": "Speeding"}, ["offence"]),
        ({"due_date": "2027-01-31", "source": "parking-warden"}, ["due_date", "source"]),
        ({"plate": "粤B13579"}, ["plate"]),
    ],
    ids=["amount", "offence", "due-date-and-source", "plate"],
)
async def test_the_same_reference_with_other_details_is_a_409_and_the_first_stands(mesh, change, differing):
    await registered(mesh)
    await registered(mesh, "粤B13579")
    # one capture, changed: two calls of capture() a second apart would differ in occurred_at too
    body = capture()
    first = (await recording(mesh, body)).json()
    problem = assert_problem(await recording(mesh, body | change), 409, "fine-reference-conflict")
    assert problem["differing"] == differing
    [row] = stored(mesh, Fine, col(Fine.reference) == "cam-0001")
    assert (row.id, row.amount_cents, row.offence) == (first["id"], 20000, "Running a red light")


async def test_a_fine_for_an_unregistered_plate_is_a_422_and_nothing_is_recorded(mesh):
    assert_problem(await recording(mesh, capture(plate="粤Z99999")), 422, "vehicle-not-registered")
    assert stored(mesh, Fine, col(Fine.reference) == "cam-0001") == []


async def test_each_reference_is_its_own_fine(mesh):
    await registered(mesh)
    ids = [(await recording(mesh, capture(f"cam-{n}"))).json()["id"] for n in range(3)]
    assert len(set(ids)) == 3
    assert len(await citizen_fines(mesh, OWNER)) == 3


# --- overdue, as the demo's fine is ---------------------------------------------------------------


def credit_record(mesh: Mesh, fine_id: int) -> CreditRecord | None:
    with mesh.apps["credit"].state.service.database.session() as session:
        return session.exec(
            select(CreditRecord).where(CreditRecord.source == "fines", CreditRecord.reference == str(fine_id))
        ).first()


async def eventually(found, seconds: float = 5.0):
    """What ``found()`` returns once it returns something (the worker runs beside the test)."""
    deadline = time.monotonic() + seconds
    while True:
        value = found()
        if value is not None or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(0.05)


async def test_a_fine_due_in_the_past_is_overdue_at_once_and_on_the_platform_reported_like_the_demos(mesh):
    await registered(mesh)
    due = china_date(datetime.now(UTC)) - timedelta(days=3)
    response = await recording(mesh, capture("cam-late", due_date=due.isoformat()))
    assert response.status_code == 201, response.text
    fine = response.json()
    assert fine["status"] == "overdue"

    def marked() -> Fine | None:
        [row] = stored(mesh, Fine, col(Fine.id) == fine["id"])
        return row if row.status == FineStatus.OVERDUE else None

    assert await eventually(marked) is not None  # the recording woke the sweep: no 15 s tick waited for
    if mesh.regime is Regime.PLATFORM:
        record = await eventually(lambda: credit_record(mesh, fine["id"]))
        assert record is not None, "the credit platform was not told"
        # as for Chen Jun's demo fine: keyed on the owner's resident ID, the fine's amount
        demo_fine = (await citizen_fines(mesh, by_handle("chen-jun")))[0]
        demo_record = await eventually(lambda: credit_record(mesh, demo_fine["id"]))
        assert demo_record is not None
        assert (record.subject, record.kind, record.amount_cents, record.source) == (
            OWNER.resident_id,
            demo_record.kind,
            20000,
            demo_record.source,
        )
        assert record.settled_at is None
    else:
        await asyncio.sleep(0.2)
        assert stored(mesh, CreditOutboxEntry) == []  # nothing leaves the department


# --- how would I attack this? ---------------------------------------------------------------------


async def test_only_the_traffic_polices_own_operator_may_register_or_record(mesh):
    await registered(mesh)
    app_token = (await app_tokens(mesh, OWNER, "fines"))["fines"]
    for headers in (
        {},
        service_bearer(mesh, "fines:read fines:pay", client="gateway"),  # the gateway's service token
        {"Authorization": f"Bearer {app_token}"},  # the owner's own app
        operator(mesh, "identity"),  # another service's operator
        operator(mesh, "appointments"),
        {"Authorization": "Operator " + operator(mesh, "fines")["Authorization"].split()[1][:-1]},
    ):
        for response in (
            await registering(mesh, vehicle("粤B11111"), headers=headers),
            await recording(mesh, capture("cam-forged"), headers=headers),
        ):
            assert_problem(response, 401, "operator-unauthenticated")
    assert stored(mesh, Vehicle, col(Vehicle.plate) == "粤B11111") == []
    assert stored(mesh, Fine, col(Fine.reference) == "cam-forged") == []


@input_check
@pytest.mark.parametrize(
    "body",
    [
        vehicle(plate="粤b24680"),
        vehicle(plate="AB12345"),
        vehicle(plate="粤A1234"),
        vehicle(plate="粤A123456789"),
        vehicle(plate="粤A 2345"),
        vehicle(owner="44010619850412137"),  # 17 characters
        vehicle(owner="440106198504121379"),  # wrong check character
        {"plate": PLATE},
        [],
    ],
)
async def test_a_malformed_registration_is_a_422_problem(mesh, body):
    assert_problem(await registering(mesh, body), 422, "invalid-request")


@input_check
@pytest.mark.parametrize(
    "change",
    [
        {"reference": ""},
        {"reference": "cam 0001"},  # a space: not visible ASCII
        {"reference": "摄像头-1"},
        {"reference": "c" * 101},
        {"amount_cents": 0},
        {"amount_cents": -1},
        {"amount_cents": 100_000_001},
        {"amount_cents": 2**63},
        {"offence": ""},
        {"offence": "o" * 201},
        {"place": "p" * 201},
        {"occurred_at": "2026-11-20T08:41:00"},  # no offset: which moment?
        {"occurred_at": "0001-01-01T00:00:00+08:00"},
        {"due_date": "9999-12-31"},
        {"source": "neighbour"},
        {"plate": "not a plate"},
    ],
)
async def test_a_malformed_capture_is_a_422_problem(mesh, change):
    await registered(mesh)
    problem = assert_problem(await recording(mesh, capture() | change), 422, "invalid-request")
    assert problem["errors"]
    assert stored(mesh, Fine, col(Fine.plate) == PLATE) == []


async def test_enormous_bodies_are_refused_unread(mesh):
    assert_problem(await recording(mesh, capture(offence="o" * 10_000_000)), 413, "body-too-large")
    assert_problem(await registering(mesh, vehicle() | {"padding": "x" * 10_000_000}), 413, "body-too-large")


@BOTH_BACKENDS
async def test_fifty_identical_concurrent_registrations_and_captures_make_one_record_each(mesh):
    headers = operator(mesh, "fines")
    async with mesh.client("fines") as fines:
        registrations = await asyncio.gather(
            *(fines.post("/vehicles", json=vehicle(), headers=headers) for _ in range(50))
        )
        body = capture()  # once: fifty identical records
        captures = await asyncio.gather(*(fines.post("/fines", json=body, headers=headers) for _ in range(50)))
    for responses in (registrations, captures):
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] * 49 + [201], [r.text for r in responses if r.status_code >= 300][:3]
    assert len({response.json()["id"] for response in captures}) == 1
    assert len(stored(mesh, Vehicle, col(Vehicle.plate) == PLATE)) == 1
    assert len(stored(mesh, Fine, col(Fine.plate) == PLATE)) == 1


@PLATFORM_ONLY
async def test_two_owners_racing_for_one_plate_get_it_once(mesh):
    headers = operator(mesh, "fines")
    async with mesh.client("fines") as fines:
        responses = await asyncio.gather(
            *(fines.post("/vehicles", json=vehicle(owner=who.resident_id), headers=headers) for who in (OWNER, OTHER))
        )
    assert sorted(response.status_code for response in responses) == [201, 409]
    assert len(stored(mesh, Vehicle, col(Vehicle.plate) == PLATE)) == 1


def test_a_day_and_a_plate_are_what_the_demo_uses():
    """The demo's own cars fit the registry's plate rule (the seed and the desk share the rules)."""
    from services.fines.demo import demo_cars
    from services.fines.models import VehicleRegistration

    for car in demo_cars(date(2026, 11, 23)):
        VehicleRegistration(plate=car.plate, owner_resident_id=car.owner.resident_id)
