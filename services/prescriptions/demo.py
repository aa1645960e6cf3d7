"""Demo data: the patient persona's prescription for her type 2 diabetes. Idempotent, so every start may run it.

The seed issues the prescription through the regime's store like any doctor would, on the
platform only: it lands in the department's database. In the rights regime a prescription lands
in the patient's personal data pod, whose address only the patient can give (her app creates the
pod when she first uses it), so nothing is seeded; the walkthrough issues hers at a consultation.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from kernel.personas import by_handle
from kernel.state import state_of
from services.prescriptions.dependencies import PrescriptionsState
from services.prescriptions.domain import issue
from services.prescriptions.models import ContentsLocation, Prescription, PrescriptionCreate
from services.prescriptions.stores import PrescriptionStore

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
PATIENT = by_handle("wang-fang")
DEMO_PRESCRIPTION_ID = "rx-demo-wang-fang-1"
DEMO_ISSUED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=CHINA_STANDARD_TIME)


def demo_draft(patient: str) -> PrescriptionCreate:
    return PrescriptionCreate(
        patient=patient,
        prescriber="Dr. Huang Lei, Endocrinology, Guangzhou First People's Hospital",
        medication="Metformin hydrochloride 500 mg tablets",
        dose="500 mg twice daily with meals",
        quantity=60,
        diagnosis_code="E11.9",  # type 2 diabetes mellitus without complications
        amount_cents=1860,
    )


async def seed_demo(app: FastAPI) -> None:
    # As at the consultation: the doctor has seen the patient's ID card, and the hospital keeps
    # only the subject the health sector knows her by (resident ID on the platform, pseudonym otherwise).
    state = state_of(app, PrescriptionsState)
    if state.policy.store.location is not ContentsLocation.DEPARTMENT:
        return
    patient = await state.services.sector_subject(PATIENT.resident_id, wait_seconds=60)
    await run_in_threadpool(_issue_in_own_transaction, state, patient)


def _issue_in_own_transaction(state: PrescriptionsState, patient: str) -> None:
    with state.database.session() as session:
        issue_demo_prescription(session, state.policy.store, patient)


def issue_demo_prescription(session: Session, store: PrescriptionStore, patient: str) -> None:
    if session.get(Prescription, DEMO_PRESCRIPTION_ID) is not None:
        return
    issue(session, store, demo_draft(patient), now=DEMO_ISSUED_AT, prescription_id=DEMO_PRESCRIPTION_ID)
