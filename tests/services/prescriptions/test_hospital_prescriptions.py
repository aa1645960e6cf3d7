"""A doctor at the hospital issues a prescription (``POST /hospital/prescriptions``,
services/prescriptions/operator_routes.py), in both regimes, on SQLite and PostgreSQL: through the same
path as an online consultation (into her pod under the hospital's legal basis in the rights regime), once
per hospital reference, for the hospital's own operators only — and the patient then pays for it, has it
dispensed and delivered through the super-app as in the prescription journey."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import httpx
import pytest
from sqlmodel import col, func, select

from kernel.personas import by_handle
from kernel.regime import Regime
from services.prescriptions.models import ContentsLocation, Prescription, PrescriptionContent
from tests.fixtures.logins import app_tokens, super_app
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES, PLATFORM_ONLY, RIGHTS_ONLY, SQLITE_ONLY, input_check
from tests.fixtures.mesh import Mesh
from tests.fixtures.operators import at_desk, operator, resident
from tests.fixtures.patient_phone import PatientPhone, patient_phone
from tests.fixtures.problems import assert_problem
from tests.fixtures.stored import dump
from tests.fixtures.tokens import service_bearer
from tests.fixtures.wallet import pay
from workshop.exposure import occurrences, stored_text

# Both regimes on SQLite; what depends on the database's own locking (the concurrent requests) on
# PostgreSQL too.
pytestmark = [BOTH_REGIMES, SQLITE_ONLY]

PATIENT, OTHER = by_handle("wang-fang"), by_handle("li-wei")
PHARMACY = "Tianhe Jianmin Pharmacy"
MEDICATION = "Amlodipine besylate 5 mg tablets"


def order(reference: str = "his-000001", pod: str | None = None, **overrides) -> dict:
    """What the doctor's system sends: hypertension, a month of amlodipine."""
    return {
        "reference": reference,
        "patient_resident_id": PATIENT.resident_id,
        "prescriber": "Dr. Lin Hua, Cardiology, Guangzhou First People's Hospital",
        "medication": MEDICATION,
        "dose": "5 mg once daily",
        "quantity": 28,
        "diagnosis_code": "I10",  # essential (primary) hypertension
        "amount_cents": 2350,
        "pod": pod,
    } | overrides


async def prescribing(mesh: Mesh, body, headers: dict[str, str] | None = None) -> httpx.Response:
    return await at_desk(mesh, "prescriptions", "/hospital/prescriptions", body, headers=headers)


def records(mesh: Mesh, *where) -> list[Prescription]:
    with mesh.apps["prescriptions"].state.service.database.session() as session:
        return list(session.exec(select(Prescription).where(*where)).all())


async def her_pod(mesh: Mesh, browser: httpx.AsyncClient) -> tuple[PatientPhone | None, str | None]:
    """Rights regime: her app, and her pod's address as her app shows it to the doctor; none on the platform."""
    if mesh.regime is Regime.PLATFORM:
        return None, None
    phone = await patient_phone(mesh, browser, PATIENT)
    return phone, await phone.pod()


async def test_a_prescription_a_doctor_issued_is_paid_dispensed_and_delivered_through_the_super_app(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        phone, pod = await her_pod(mesh, browser)
        issued = await prescribing(mesh, order(pod=pod))
        assert issued.status_code == 201, issued.text
        rx = issued.json()
        assert (rx["reference"], rx["medication"], rx["diagnosis_code"], rx["status"]) == (
            "his-000001",
            MEDICATION,
            "I10",
            "issued",
        )
        [record] = records(mesh, col(Prescription.id) == rx["id"])
        assert (
            rx["patient"]
            == record.patient
            == await mesh.apps["prescriptions"].state.service.services.sector_subject(PATIENT.resident_id)
        )
        if phone is None:  # the platform: the super-app lists it, pays, orders the pharmacy and the courier
            listed = (await browser.get("/city-services/prescriptions")).json()
            assert rx["id"] in [p["id"] for p in listed]
            paid = await pay(browser, rx, "rx-his-1", payee="prescriptions")
            assert paid.status_code == 201 and paid.json()["status"] == "completed", paid.text
            dispensed = await browser.post(
                f"/city-services/prescriptions/{rx['id']}/dispensation", json={"pharmacy": PHARMACY}
            )
            assert dispensed.status_code == 201, dispensed.text
            assert dispensed.json()["medication"] == MEDICATION
            delivered = await browser.post(
                f"/city-services/prescriptions/{rx['id']}/delivery", json={"address": PATIENT.address}
            )
            assert delivered.status_code == 201, delivered.text
            assert record.contents_in is ContentsLocation.DEPARTMENT
        else:  # the rights regime: her app finds it in her pod, the wallet pays, she consents, her app orders
            listed = await phone.hospital("GET", "/me/prescriptions")
            assert [
                (p["id"], p["medication"], p["signature"]["verified"]) for p in listed.body if p["id"] == rx["id"]
            ] == [(rx["id"], MEDICATION, True)]
            paid = await pay(browser, rx, "rx-his-1", payee="prescriptions")
            assert paid.status_code == 201 and paid.json()["status"] == "completed", paid.text
            await phone.decide((await phone.prompt_naming(rx["id"]))["id"], "given")
            handed_over = await phone.hospital(
                "POST", f"/me/prescriptions/{rx['id']}/dispensation", {"pharmacy": PHARMACY}
            )
            assert handed_over.status == 201, handed_over.body
            assert handed_over.body["medication"] == MEDICATION
            asked = await phone.hospital("POST", f"/me/prescriptions/{rx['id']}/delivery-consent")
            await phone.decide(asked.body["consent_request"], "given")
            delivered_answer = await phone.hospital(
                "POST", f"/me/prescriptions/{rx['id']}/delivery", {"address": PATIENT.address}
            )
            assert delivered_answer.status == 201, delivered_answer.body
            assert record.contents_in is ContentsLocation.POD and record.keeping_basis_id is not None
            # the hospital kept no contents, the super-app learned none
            stored = {"prescriptions": stored_text(mesh.apps["prescriptions"].state.service.database.engine)}
            assert occurrences(stored, [MEDICATION, "I10"]) == []
            assert occurrences(dump(mesh, "gateway"), [MEDICATION, PATIENT.resident_id]) == []
    [after] = records(mesh, col(Prescription.id) == rx["id"])
    assert (after.status, after.pharmacy, after.parcel_id is not None) == ("dispensed", PHARMACY, True)


async def test_the_same_prescription_again_is_200_and_nothing_is_issued_twice(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        phone, pod = await her_pod(mesh, browser)
        first = await prescribing(mesh, order(pod=pod))
        again = await prescribing(mesh, order(pod=pod, medication=f"  {MEDICATION} ", diagnosis_code="i10"))
        assert (first.status_code, again.status_code) == (201, 200), again.text
        assert again.json() == first.json()
        assert len(records(mesh, col(Prescription.reference) == "his-000001")) == 1
        if phone is not None:  # one deposit, one consent asked for the pharmacy
            asked = (await phone.consent("GET", "/me/artefacts?status=requested")).json()
            assert len([request for request in asked if first.json()["id"] in request["summary"]]) == 1


@pytest.mark.parametrize(
    ("change", "differing"),
    [
        ({"medication": "Nifedipine 30 mg tablets"}, "contents"),
        ({"quantity": 56}, "contents"),
        ({"amount_cents": 1}, "amount_cents"),
        ({"patient_resident_id": OTHER.resident_id}, "patient"),
    ],
    ids=["medication", "quantity", "amount", "patient"],
)
async def test_the_same_reference_with_other_details_is_a_409_and_the_first_stands(mesh, change, differing):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        _, pod = await her_pod(mesh, browser)
        first = (await prescribing(mesh, order(pod=pod))).json()
        problem = assert_problem(
            await prescribing(mesh, order(pod=pod, **change)), 409, "prescription-reference-conflict"
        )
        assert differing in problem["differing"]
    [record] = records(mesh, col(Prescription.reference) == "his-000001")
    assert (record.id, record.amount_cents) == (first["id"], 2350)


async def test_a_patient_identity_has_not_enrolled_is_a_422_and_nothing_is_issued(mesh):
    stranger = resident(80)["resident_id"]
    assert_problem(await prescribing(mesh, order(patient_resident_id=stranger)), 422, "resident-not-enrolled")
    assert records(mesh, col(Prescription.reference) == "his-000001") == []


@RIGHTS_ONLY
async def test_rights_without_her_pod_nothing_is_issued(mesh):
    assert_problem(await prescribing(mesh, order(pod=None)), 422, "pod-required")
    assert_problem(await prescribing(mesh, order(pod="https://elsewhere.example/pods/x/")), 422, "invalid-pod")
    assert records(mesh, col(Prescription.reference) == "his-000001") == []


@RIGHTS_ONLY
async def test_rights_a_doctor_cannot_deposit_one_patients_prescription_in_anothers_pod(mesh):
    async with aclosing(await super_app(mesh, OTHER.handle)) as his_browser:
        his_pod = await (await patient_phone(mesh, his_browser, OTHER)).pod()
    refused = await prescribing(mesh, order(pod=his_pod))  # hers, into his pod
    assert_problem(refused, 403, "subject-mismatch")
    assert MEDICATION not in refused.text
    assert records(mesh, col(Prescription.reference) == "his-000001") == []


@PLATFORM_ONLY
async def test_platform_the_hospital_keeps_the_contents_itself_and_ignores_a_pod(mesh):
    issued = await prescribing(mesh, order(pod="https://elsewhere.example/pods/x/"))
    assert issued.status_code == 201, issued.text
    with mesh.apps["prescriptions"].state.service.database.session() as session:
        content = session.get(PrescriptionContent, issued.json()["id"])
    assert content is not None and (content.medication, content.diagnosis_code) == (MEDICATION, "I10")


# --- how would I attack this? ---------------------------------------------------------------------


async def test_only_the_hospitals_own_operator_may_issue(mesh):
    app_token = (await app_tokens(mesh, PATIENT, "prescriptions"))["prescriptions"]
    for headers in (
        {},
        service_bearer(mesh, "prescriptions:issue", client="gateway"),  # the gateway may issue consultations only
        {"Authorization": f"Bearer {app_token}"},  # the patient's own app
        operator(mesh, "identity"),
        operator(mesh, "fines"),
        {"Authorization": f"Operator {mesh.apps['prescriptions'].state.service.operator_secret.upper()}"},
    ):
        assert_problem(await prescribing(mesh, order(), headers=headers), 401, "operator-unauthenticated")
    assert records(mesh, col(Prescription.reference) == "his-000001") == []


@input_check
@pytest.mark.parametrize(
    "change",
    [
        {"reference": ""},
        {"reference": "his 1"},
        {"reference": "r" * 101},
        {"patient_resident_id": PATIENT.resident_id[:-1]},
        {"patient_resident_id": "not a resident id"},
        {"diagnosis_code": "hypertension"},  # not an ICD-10 code
        {"quantity": 0},
        {"quantity": 10_001},
        {"amount_cents": -1},
        {"amount_cents": 2**63},
        {"medication": ""},
        {"medication": "m" * 201},
        {"prescriber": None},
        {"pod": "p" * 501},
    ],
)
async def test_a_malformed_prescription_is_a_422_problem(mesh, change):
    problem = assert_problem(await prescribing(mesh, order() | change), 422, "invalid-request")
    assert problem["errors"]
    assert records(mesh, col(Prescription.reference) == (change.get("reference") or "his-000001")) == []


@input_check
@pytest.mark.parametrize("body", [[], "prescription", {}, {"reference": "his-000001"}])
async def test_a_body_that_is_no_prescription_is_a_422_problem(mesh, body):
    assert_problem(await prescribing(mesh, body), 422, "invalid-request")


async def test_an_enormous_body_is_refused_unread(mesh):
    assert_problem(await prescribing(mesh, order(dose="d" * 10_000_000)), 413, "body-too-large")


@BOTH_BACKENDS
async def test_fifty_identical_concurrent_prescriptions_issue_one(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        phone, pod = await her_pod(mesh, browser)
        headers = operator(mesh, "prescriptions")
        async with mesh.client("prescriptions") as hospital:
            responses = await asyncio.gather(
                *(hospital.post("/hospital/prescriptions", json=order(pod=pod), headers=headers) for _ in range(50))
            )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] * 49 + [201], [r.text for r in responses if r.status_code >= 300][:3]
        assert len({response.json()["id"] for response in responses}) == 1
        assert len(records(mesh, col(Prescription.reference) == "his-000001")) == 1
        if phone is not None:
            asked = (await phone.consent("GET", "/me/artefacts?status=requested")).json()
            assert len([request for request in asked if responses[0].json()["id"] in request["summary"]]) == 1


async def test_different_references_are_different_prescriptions(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        _, pod = await her_pod(mesh, browser)
        ids = {(await prescribing(mesh, order(f"his-{n}", pod=pod))).json()["id"] for n in range(3)}
    assert len(ids) == 3
    with mesh.apps["prescriptions"].state.service.database.session() as session:
        assert (
            session.exec(select(func.count()).select_from(Prescription).where(col(Prescription.id).in_(ids))).one() == 3
        )
