"""Demo data: the patient persona's prescription for her type 2 diabetes. Idempotent, so every start may run it.

The seed issues the prescription through the regime's store like any doctor would. On the
platform it lands in the department's database. In the rights regime it would land in Wang
Fang's personal data pod; that service does not exist yet, so the store refuses and the seed
writes nothing at all — it never falls back to keeping her diagnosis in the department's database.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from identity.personas import by_handle
from services.prescriptions.domain import issue
from services.prescriptions.models import Prescription, PrescriptionCreate
from services.prescriptions.stores import PodUnavailable, PrescriptionStore

log = logging.getLogger("citygate.prescriptions")

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
    patient = await app.state.services.sector_subject(PATIENT.resident_id, wait_seconds=60)
    try:
        await run_in_threadpool(_issue_in_own_transaction, app, patient)
    except PodUnavailable as refusal:
        log.warning("demo prescription not seeded: %s", refusal.detail)


def _issue_in_own_transaction(app: FastAPI, patient: str) -> None:
    with app.state.database.session() as session:
        issue_demo_prescription(session, app.state.policy.store, patient)


def issue_demo_prescription(session: Session, store: PrescriptionStore, patient: str) -> None:
    if session.get(Prescription, DEMO_PRESCRIPTION_ID) is not None:
        return
    issue(session, store, demo_draft(patient), now=DEMO_ISSUED_AT, prescription_id=DEMO_PRESCRIPTION_ID)
