"""The departments' citizen-facing API (``/me/...``): a citizen, with the token their own app holds for
the department, sees and acts on their own fines, bookings and prescriptions only — in both regimes,
on SQLite and PostgreSQL."""

from __future__ import annotations

import jwt as pyjwt
import pytest

from kernel.citizens import CITIZEN_RESOURCES
from kernel.personas import by_handle
from kernel.regime import Regime
from services.appointments.models import Booking
from services.fines.demo import DEFAULTER_PLATE
from services.prescriptions.demo import DEMO_PRESCRIPTION_ID
from tests.fixtures.appointments import marriage_slot
from tests.fixtures.fines import DEMO_PLATE, fine_ids
from tests.fixtures.logins import app_tokens
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.mesh import Mesh
from tests.fixtures.pod_clients import own_pod
from tests.fixtures.prescriptions import give_the_pending_consent, issue_over_http
from tests.fixtures.problems import assert_problem
from tests.fixtures.stored import ledger_entries
from tests.fixtures.tokens import bearer, mint

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("fines", "appointments", "prescriptions")]

CAR_OWNER, DEFAULTER, PATIENT = by_handle("li-wei"), by_handle("chen-jun"), by_handle("wang-fang")
DEPARTMENTS = ("fines", "appointments", "prescriptions")
CITIZEN_PATHS = {"fines": "/me/fines", "appointments": "/me/bookings", "prescriptions": "/me/prescriptions"}


def subject_of(token: str) -> str:
    """The token's ``sub`` (the department verifies it; here it only names whom to expect)."""
    return pyjwt.decode(token, options={"verify_signature": False})["sub"]


# --- fines ----------------------------------------------------------------------------------------


async def test_a_citizen_sees_their_own_fines_and_no_one_elses(mesh):
    owner = (await app_tokens(mesh, CAR_OWNER, "fines"))["fines"]
    defaulter = (await app_tokens(mesh, DEFAULTER, "fines"))["fines"]
    own, others = fine_ids(mesh, DEMO_PLATE), fine_ids(mesh, DEFAULTER_PLATE)
    async with mesh.client("fines") as fines:
        mine = await fines.get("/me/fines", headers=bearer(owner))
        assert mine.status_code == 200, mine.text
        assert [fine["id"] for fine in mine.json()] == own and {f["plate"] for f in mine.json()} == {DEMO_PLATE}
        theirs = await fines.get("/me/fines", headers=bearer(defaulter))
        assert [fine["id"] for fine in theirs.json()] == others

        one = await fines.get(f"/me/fines/{own[0]}", headers=bearer(owner))
        assert one.status_code == 200 and one.json() == mine.json()[0]
        # someone else's fine is as unknown as a fine that does not exist
        assert_problem(await fines.get(f"/me/fines/{others[0]}", headers=bearer(owner)), 404, "fine-not-found")
        assert_problem(await fines.get("/me/fines/999999", headers=bearer(owner)), 404, "fine-not-found")

        # the same answer the super-app gets for the subject the token names
        service = await fines.get(
            f"/citizens/{subject_of(owner)}/fines", headers=bearer(mint(mesh, client="gateway", scope="fines:read"))
        )
        assert service.json() == mine.json()


# --- who may call the citizen routes ----------------------------------------------------------------


async def test_the_citizen_routes_take_only_the_citizens_token_for_that_department(mesh):
    tokens = await app_tokens(mesh, CAR_OWNER, "fines", "appointments")
    other_department = {
        "fines": tokens["appointments"],
        "appointments": tokens["fines"],
        "prescriptions": tokens["fines"],
    }
    for department in DEPARTMENTS:
        path = CITIZEN_PATHS[department]
        service_token = mint(mesh, client="gateway", scope=f"{department}:read")
        async with mesh.client(department) as client:
            missing = await client.get(path)
            assert_problem(missing, 401, "unauthenticated")
            assert missing.headers["www-authenticate"].startswith("Bearer")
            assert_problem(await client.get(path, headers=bearer(service_token)), 403, "not-a-citizen")
            assert_problem(await client.get(path, headers=bearer(other_department[department])), 401, "invalid-token")
            assert_problem(await client.get(path, headers=bearer("not-a-token")), 401, "invalid-token")


# --- appointments ---------------------------------------------------------------------------------


async def test_citizens_book_and_confirm_as_themselves(mesh):
    booker = (await app_tokens(mesh, CAR_OWNER, "appointments"))["appointments"]
    partner = (await app_tokens(mesh, PATIENT, "appointments"))["appointments"]
    stranger = (await app_tokens(mesh, DEFAULTER, "appointments"))["appointments"]
    slot = await marriage_slot(mesh)
    async with mesh.client("appointments") as bureau:
        # the body names no one: the booker is the token's subject, and naming a subject is an error
        smuggled = await bureau.post(
            "/me/bookings",
            json={"slot_id": slot["id"], "type": "marriage", "subject": "someone-else"},
            headers=bearer(booker),
        )
        assert_problem(smuggled, 422, "invalid-request")
        booked = await bureau.post(
            "/me/bookings", json={"slot_id": slot["id"], "type": "marriage"}, headers=bearer(booker)
        )
        assert booked.status_code == 201, booked.text
        booking_id, code = booked.json()["id"], booked.json()["invitation_code"]
        assert code and booked.json()["status"] == "pending"

        listed = (await bureau.get("/me/bookings", headers=bearer(booker))).json()
        assert [(b["id"], b["role"]) for b in listed] == [(booking_id, "booker")]
        assert (await bureau.get(f"/me/bookings/{booking_id}", headers=bearer(booker))).status_code == 200
        # the partner joins only with the code: until then the booking is not theirs to see
        assert_problem(
            await bureau.get(f"/me/bookings/{booking_id}", headers=bearer(partner)), 404, "booking-not-found"
        )

        confirmed = await bureau.post(
            f"/me/bookings/{booking_id}/confirmations", json={"invitation_code": code}, headers=bearer(partner)
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["status"] == "confirmed" and confirmed.json()["partner_confirmed"] is True
        seen = await bureau.get(f"/me/bookings/{booking_id}", headers=bearer(partner))
        assert seen.status_code == 200 and seen.json()["id"] == booking_id
        assert [b["role"] for b in (await bureau.get("/me/bookings", headers=bearer(partner))).json()] == ["partner"]

        assert_problem(
            await bureau.get(f"/me/bookings/{booking_id}", headers=bearer(stranger)), 404, "booking-not-found"
        )
        assert (await bureau.get("/me/bookings", headers=bearer(stranger))).json() == []
        late = await bureau.post(
            f"/me/bookings/{booking_id}/confirmations", json={"invitation_code": code}, headers=bearer(stranger)
        )
        assert late.status_code in (403, 409), late.text

    with mesh.apps["appointments"].state.service.database.session() as session:
        stored = session.get(Booking, booking_id)
        assert (stored.subject, stored.partner_subject) == (subject_of(booker), subject_of(partner))


# --- prescriptions --------------------------------------------------------------------------------


async def patients_prescription(mesh: Mesh) -> str:
    """Platform: the seeded demo prescription. Rights: one issued into her pod, under her consent."""
    if mesh.regime is Regime.PLATFORM:
        return DEMO_PRESCRIPTION_ID
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    await owner.aclose()
    _, issued = await issue_over_http(mesh, mesh.urls["pod"] + root)
    assert issued.status_code == 201, issued.text
    await give_the_pending_consent(mesh)
    return issued.json()["id"]


async def test_a_patient_sees_her_prescriptions_and_no_one_else_does(mesh):
    rx_id = await patients_prescription(mesh)
    patient = (await app_tokens(mesh, PATIENT, "prescriptions"))["prescriptions"]
    other = (await app_tokens(mesh, CAR_OWNER, "prescriptions"))["prescriptions"]
    async with mesh.client("prescriptions") as rx:
        mine = await rx.get("/me/prescriptions", headers=bearer(patient))
        assert mine.status_code == 200, mine.text
        assert [p["id"] for p in mine.json()] == [rx_id] and mine.json()[0]["medication"].startswith("Metformin")
        one = await rx.get(f"/me/prescriptions/{rx_id}", headers=bearer(patient))
        assert one.status_code == 200 and one.json()["diagnosis_code"] == "E11.9"

        reads = len(await ledger_entries(mesh)) if mesh.regime is Regime.RIGHTS else 0
        assert (await rx.get("/me/prescriptions", headers=bearer(other))).json() == []
        assert_problem(await rx.get(f"/me/prescriptions/{rx_id}", headers=bearer(other)), 404, "prescription-not-found")
        assert_problem(
            await rx.get("/me/prescriptions/rx-unknown", headers=bearer(other)), 404, "prescription-not-found"
        )
    if mesh.regime is Regime.RIGHTS:  # refused before her pod was asked: no read, not even a refused one
        assert len(await ledger_entries(mesh)) == reads


def test_the_departments_take_citizens_tokens():
    assert set(DEPARTMENTS) <= CITIZEN_RESOURCES
