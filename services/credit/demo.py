"""Demo data: Chen Jun has an overdue fine on the credit platform, so the blacklist can be shown
when he tries to book the divorce appointment. Idempotent, so every start may run it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from identity.personas import by_handle
from kernel.settings import ServiceSettings
from services.credit.domain import push_record
from services.credit.models import CreditRecordCreate
from services.credit.rules import RecordKind

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
BLACKLISTED = by_handle("chen-jun")
DEMO_SOURCE = "fines"
# A fine from before the demo's story (the traffic police's demo data holds Li Wei's car only),
# so its reference is not a fine id the fines service will ever report.
DEMO_REFERENCE = "demo-2026-0815-chen-jun"
DEMO_RECORD = CreditRecordCreate(
    subject=BLACKLISTED.resident_id, kind=RecordKind.OVERDUE_FINE, reference=DEMO_REFERENCE, amount_cents=20000,
)
DEMO_RECORDED_AT = datetime(2026, 10, 16, 0, 5, tzinfo=CHINA_STANDARD_TIME)  # the day after it fell due


def seed_demo(session: Session, settings: ServiceSettings) -> None:
    push_record(session, DEMO_RECORD, source=DEMO_SOURCE, now=DEMO_RECORDED_AT)
