"""The hospital and pharmacy in the rights regime, on SQLite and PostgreSQL: prescriptions belong in
the patient's personal data pod, which does not exist yet, so everything that needs a
prescription's contents answers a clear 503 ``pod-unavailable`` — and no health data is ever
written to the department's database instead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from kernel.regime import Regime
from services.prescriptions.demo import PATIENT
from services.prescriptions.models import (
    ContentsLocation,
    DeliveryOrder,
    Payment,
    Prescription,
    PrescriptionContent,
    PrescriptionsTable,
)
from services.prescriptions.stores import PodStore, PodUnavailable
from tests.support import assert_problem
from tests.test_prescriptions_api import (
    DELIVER,
    READ,
    app_db,
    auth,
    count,
    deliver,
    dispense,
    issue,
    pay,
)

POD_REF = "https://pod.example/wang-fang/prescriptions/1"


@pytest.fixture
def regime() -> Regime:
    return Regime.RIGHTS


def assert_pod_unavailable(response) -> None:
    body = assert_problem(response, 503, "pod-unavailable")
    assert "personal data pod is not available yet" in body["detail"]


async def test_nothing_about_a_prescription_is_stored_and_the_pod_path_answers_a_clear_503(mesh):
    app = mesh.apps["prescriptions"]
    assert isinstance(app.state.policy.store, PodStore)
    # The demo seed asked for the patient's health-sector pseudonym and tried to issue: nothing was written.
    assert all(count(mesh, table) == 0 for table in PrescriptionsTable.metadata.sorted_tables)
    patient = await app.state.services.sector_subject(PATIENT.resident_id)
    assert patient != PATIENT.resident_id

    # Issuing (the doctor's side) is refused, and still nothing is stored.
    with pytest.raises(PodUnavailable):
        issue(mesh, patient)
    assert count(mesh, Prescription) == count(mesh, PrescriptionContent) == 0

    async with mesh.client("prescriptions") as rx:
        assert_pod_unavailable(await rx.get(f"/citizens/{patient}/prescriptions", headers=auth(mesh, READ)))
        assert_problem(await rx.get("/prescriptions/rx-nope", headers=auth(mesh, READ)), 404, "prescription-not-found")
        assert_problem(await rx.get(f"/citizens/{patient}/prescriptions"), 401, "unauthenticated")


async def test_with_a_pod_reference_only_reading_and_dispensing_need_the_pod(mesh):
    # A process record as pod-backed issuing will leave it: the contents are a reference into the pod.
    patient = await mesh.apps["prescriptions"].state.services.sector_subject(PATIENT.resident_id)
    with app_db(mesh).session() as session:
        session.add(Prescription(id="rx-in-pod", patient=patient, amount_cents=1860, issued_at=datetime.now(UTC),
                                 contents_in=ContentsLocation.POD, pod_ref=POD_REF))
        session.commit()
    async with mesh.client("prescriptions") as rx:
        assert_pod_unavailable(await rx.get("/prescriptions/rx-in-pod", headers=auth(mesh, READ)))
        assert_problem(await dispense(rx, mesh, "rx-in-pod"), 409, "not-paid")  # checked before the pod is asked
        paid = await pay(rx, mesh, "rx-in-pod", patient)  # the amount is the department's own record
        assert paid.status_code == 201, paid.text
        assert_pod_unavailable(await dispense(rx, mesh, "rx-in-pod"))
        assert_problem(await deliver(rx, mesh, "rx-in-pod"), 409, "not-dispensed")
        assert_problem(await rx.post("/prescriptions/rx-in-pod/delivery", json={"address": "A"}), 401)
        assert (await rx.post("/prescriptions/rx-in-pod/delivery", json={"address": "A"},
                              headers=auth(mesh, DELIVER, "fines"))).status_code == 403
    with app_db(mesh).session() as session:
        stored = session.get(Prescription, "rx-in-pod")
        assert (stored.status, stored.dispensed_at, stored.pharmacy) == ("paid", None, None)
        assert session.exec(select(PrescriptionContent)).all() == []
        assert session.exec(select(DeliveryOrder)).all() == []
        assert len(session.exec(select(Payment)).all()) == 1
