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
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from kernel.personas import PERSONAS, by_handle
from kernel.state import state_of
from kernel.write_locks import lock_for_writing
from services.prescriptions.dependencies import PrescriptionsState
from services.prescriptions.domain import issue
from services.prescriptions.models import (
    ContentsLocation,
    DeliveryOrder,
    Payment,
    Prescription,
    PrescriptionContent,
    PrescriptionCreate,
    PrescriptionStatus,
)
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


# --- replaying: POST /demo/reset (kernel.demo_reset) -------------------------------------------------------


async def reset_demo(app: FastAPI) -> dict[str, int]:
    """The personas' prescriptions as seeded: the demo one (platform) issued again — unpaid, not dispensed,
    no parcel — and every other one of theirs (a consultation's) removed with its payment and parcel; in
    the rights regime their contents are in their pods (reset there). Nobody else's are touched."""
    state = state_of(app, PrescriptionsState)
    patients = [await state.services.sector_subject(persona.resident_id) for persona in PERSONAS]
    summary = await run_in_threadpool(_reset_in_own_transaction, state, patients)
    await seed_demo(app)  # idempotent: puts the demo prescription back only if it was missing
    return summary


def _reset_in_own_transaction(state: PrescriptionsState, patients: list[str]) -> dict[str, int]:
    with state.database.session() as session:
        summary = reset_patients(session, patients)
        session.commit()
    return summary


def reset_patients(session: Session, patients: list[str]) -> dict[str, int]:
    """In the caller's transaction (``patients``: the health sector's subjects for the personas)."""
    lock_for_writing(session, *(f"prescriptions.patient:{patient}" for patient in patients))
    theirs = select(Prescription.id).where(col(Prescription.patient).in_(patients))
    parcels = [
        parcel
        for parcel in session.exec(select(Prescription.parcel_id).where(col(Prescription.patient).in_(patients))).all()
        if parcel is not None
    ]
    payments = session.exec(delete(Payment).where(col(Payment.prescription_id).in_(theirs))).rowcount
    others = [id_ for id_ in session.exec(theirs).all() if id_ != DEMO_PRESCRIPTION_ID]
    session.exec(delete(PrescriptionContent).where(col(PrescriptionContent.prescription_id).in_(others)))
    removed = session.exec(delete(Prescription).where(col(Prescription.id).in_(others))).rowcount
    session.exec(
        update(Prescription)
        .where(col(Prescription.id) == DEMO_PRESCRIPTION_ID)
        .values(status=PrescriptionStatus.ISSUED, paid_at=None, dispensed_at=None, pharmacy=None, parcel_id=None)
    )
    session.exec(delete(DeliveryOrder).where(col(DeliveryOrder.parcel_id).in_(parcels)))
    return {"prescriptions removed": removed, "payments removed": payments, "parcels removed": len(parcels)}
