"""Demo data: the car owner persona's car with two camera fines. Idempotent, so every start may run it."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from identity.personas import by_handle
from services.fines.models import Fine, Vehicle

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
CAR_OWNER = by_handle("li-wei")
DEMO_PLATE = CAR_OWNER.plate


async def seed_demo(app: FastAPI) -> None:
    # As at the registration desk: the clerk has seen the owner's ID card, and the traffic police
    # keep only the subject their sector knows the owner by (the resident ID on the platform,
    # the transport-sector pseudonym in the rights regime).
    owner = await app.state.services.sector_subject(CAR_OWNER.resident_id, wait_seconds=60)
    await run_in_threadpool(_register_in_own_transaction, app, owner)


def _register_in_own_transaction(app: FastAPI, owner: str) -> None:
    with app.state.database.session() as session:
        register_demo_car(session, owner)
        session.commit()


def register_demo_car(session: Session, owner: str) -> None:
    if session.get(Vehicle, DEMO_PLATE) is not None:
        return
    session.add(Vehicle(plate=DEMO_PLATE, owner_ref=owner))
    session.flush()  # the fines reference the vehicle row
    session.add_all([
        Fine(plate=DEMO_PLATE, offence="Running a red light", place="Tianhe Road / Tiyu West Road",
             occurred_at=datetime(2026, 10, 2, 8, 41, tzinfo=CHINA_STANDARD_TIME), amount_cents=20000,
             due_date=date(2026, 12, 1)),
        Fine(plate=DEMO_PLATE, offence="Parking in a bus lane", place="Zhongshan 5th Road",
             occurred_at=datetime(2026, 11, 9, 17, 5, tzinfo=CHINA_STANDARD_TIME), amount_cents=15000,
             due_date=date(2026, 12, 24)),
    ])
