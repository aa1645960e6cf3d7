"""Demo data: one car with two camera fines. Idempotent, so every start may run it."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlmodel import Session

from identity.personas import by_handle
from kernel.settings import ServiceSettings
from services.fines.models import Fine, Vehicle

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
CAR_OWNER = by_handle("li-wei")
DEMO_PLATE = CAR_OWNER.plate
# TODO(issue 4): in the rights regime the owner must be keyed on the transport-sector
# pseudonym the identity service issues, never on the resident ID.
DEMO_OWNER_REF = CAR_OWNER.resident_id


def seed_demo(session: Session, settings: ServiceSettings) -> None:
    if session.get(Vehicle, DEMO_PLATE) is not None:
        return
    session.add(Vehicle(plate=DEMO_PLATE, owner_ref=DEMO_OWNER_REF))
    session.flush()  # the fines reference the vehicle row
    session.add_all([
        Fine(plate=DEMO_PLATE, offence="Running a red light", place="Tianhe Road / Tiyu West Road",
             occurred_at=datetime(2026, 10, 2, 8, 41, tzinfo=CHINA_STANDARD_TIME), amount_cents=20000, due_date=date(2026, 12, 1)),
        Fine(plate=DEMO_PLATE, offence="Parking in a bus lane", place="Zhongshan 5th Road",
             occurred_at=datetime(2026, 11, 9, 17, 5, tzinfo=CHINA_STANDARD_TIME), amount_cents=15000, due_date=date(2026, 12, 24)),
    ])
