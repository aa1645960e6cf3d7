"""Demo data, idempotent, so every start may run it:

- the car owner persona Li Wei's car 粤A12345 with two camera fines, not yet due on the day of seeding;
- Chen Jun's car 粤A88888 with a parking warden's fine that fell due on 2026-10-15 and is
  overdue — in the platform regime the sweep reports it to the credit-sharing platform, which is
  why he is blacklisted when he tries to book the divorce appointment (and still blocked after
  paying, until the settlement propagates).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete
from sqlmodel import Session, col, select

from kernel.clock import utc_now
from kernel.personas import Persona, by_handle
from kernel.problems import Problem
from kernel.state import state_of
from kernel.write_locks import lock_for_writing
from services.fines.dependencies import FinesState
from services.fines.domain import CHINA_STANDARD_TIME, add_fine, add_vehicle, china_date
from services.fines.models import CreditOutboxEntry, Fine, FineCreate, FineSource, FineStatus, Payment, Vehicle


def _car_of(persona: Persona) -> str:
    if persona.plate is None:
        raise ValueError(f"the persona {persona.handle} has no car")
    return persona.plate


CAR_OWNER = by_handle("li-wei")
DEMO_PLATE = _car_of(CAR_OWNER)
DEFAULTER = by_handle("chen-jun")
DEFAULTER_PLATE = "粤A88888"


@dataclass(frozen=True)
class DemoCar:
    owner: Persona
    plate: str
    fines: tuple[FineCreate, ...]
    # each fine's capture id (ticket number): fixed, although Li Wei's fines are dated by the seed day, and
    # opaque, like a camera's: nothing in it names the owner
    references: tuple[str, ...]


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), CHINA_STANDARD_TIME)


def li_weis_car(today: date) -> DemoCar:
    """Two camera fines, neither due yet on the day of seeding: dated relative to that day (seeded on
    2026-11-23 they are exactly 2 Oct / 9 Nov, due 1 Dec / 24 Dec), so the fines journey always
    starts from two unpaid fines and the demo does not go stale when the calendar passes them."""
    return DemoCar(
        CAR_OWNER,
        DEMO_PLATE,
        (
            FineCreate(
                plate=DEMO_PLATE,
                offence="Running a red light",
                place="Tianhe Road / Tiyu West Road",
                occurred_at=_at(today - timedelta(days=52), 8, 41),
                amount_cents=20000,
                due_date=today + timedelta(days=8),
                source=FineSource.CAMERA,
            ),
            FineCreate(
                plate=DEMO_PLATE,
                offence="Parking in a bus lane",
                place="Zhongshan 5th Road",
                occurred_at=_at(today - timedelta(days=14), 17, 5),
                amount_cents=15000,
                due_date=today + timedelta(days=31),
                source=FineSource.CAMERA,
            ),
        ),
        ("demo-camera-0001", "demo-camera-0002"),
    )


def chen_juns_car() -> DemoCar:
    """A parking warden's fine that fell due on 2026-10-15: overdue, and on the platform reported
    (the credit platform's own story dates the record to the 16th)."""
    return DemoCar(
        DEFAULTER,
        DEFAULTER_PLATE,
        (
            FineCreate(
                plate=DEFAULTER_PLATE,
                offence="Illegal parking",
                place="Jiangnan Avenue Middle",
                occurred_at=_at(date(2026, 9, 15), 18, 20),
                amount_cents=20000,
                due_date=date(2026, 10, 15),
                source=FineSource.PARKING_WARDEN,
            ),
        ),
        ("demo-warden-0001",),
    )


def demo_cars(today: date) -> tuple[DemoCar, ...]:
    return li_weis_car(today), chen_juns_car()


async def seed_demo(app: FastAPI) -> None:
    # As at the registration desk: the clerk has seen the owner's ID card, and the traffic police
    # keep only the subject their sector knows the owner by (the resident ID on the platform,
    # the transport-sector pseudonym in the rights regime).
    state = state_of(app, FinesState)
    cars = demo_cars(china_date(state.clock()))
    owners = {car.plate: await _sector_subject(state, car.owner) for car in cars}
    await run_in_threadpool(_register_in_own_transaction, state, cars, owners)
    # The sweep marks Chen Jun's fine overdue (and, on the platform, reports it) right away.
    state.worker.wake()


async def _sector_subject(state: FinesState, persona: Persona, wait_seconds: float = 60) -> str:
    """Waits for the identity service to come up, and for its own demo seed to have enrolled the
    persona (seeds run concurrently; until then it answers 404 citizen-not-found)."""
    deadline = monotonic() + wait_seconds
    while True:
        try:
            return await state.services.sector_subject(persona.resident_id, wait_seconds=wait_seconds)
        except Problem as problem:
            if problem.status != 404 or monotonic() >= deadline:
                raise
        await asyncio.sleep(0.25)


def _register_in_own_transaction(state: FinesState, cars: tuple[DemoCar, ...], owners: dict[str, str]) -> None:
    with state.database.session() as session:
        for car in cars:
            register_demo_car(session, owners[car.plate], car)
        session.commit()


def register_demo_car(session: Session, owner: str, car: DemoCar | None = None) -> None:
    """Registers ``car`` (Li Wei's, as of today, unless given) to ``owner`` and records its fines, as the
    registry and the cameras do (``services.fines.domain``), unless the car is registered already."""
    car = car or li_weis_car(china_date(utc_now()))
    if session.get(Vehicle, car.plate) is not None:
        return
    add_vehicle(session, car.plate, owner)
    for fine, reference in zip(car.fines, car.references, strict=True):
        add_fine(session, fine, reference=reference)


# --- replaying: POST /demo/reset (kernel.demo_reset) -------------------------------------------------------


async def reset_demo(app: FastAPI) -> dict[str, int]:
    """The demo cars' fines as seeded again (unpaid; Chen Jun's overdue), their payments and credit-platform
    outbox entries gone; no other vehicle's rows are touched. The sweep then reports Chen Jun's fine again."""
    state = state_of(app, FinesState)
    summary = await run_in_threadpool(_reset_in_own_transaction, state, china_date(state.clock()))
    state.worker.wake()
    return summary


def _reset_in_own_transaction(state: FinesState, today: date) -> dict[str, int]:
    with state.database.session() as session:
        summary = reset_demo_cars(session, demo_cars(today))
        session.commit()
    return summary


def reset_demo_cars(session: Session, cars: tuple[DemoCar, ...]) -> dict[str, int]:
    """In the caller's transaction: the demo cars' seeded fines back as seeded (unpaid, today's dates) under
    their own ids — the credit platform knows a fine by its id, so an id is never reused for another —
    their payments and outbox entries removed, and any other fine on the demo cars removed. A payment
    racing with it either committed before (and is undone here) or waits and finds the fine reset."""
    plates = [car.plate for car in cars]
    references = [reference for car in cars for reference in car.references]
    lock_for_writing(
        session, *(f"fines.plate:{plate}" for plate in plates), *(f"fines.reference:{r}" for r in references)
    )
    on_demo_cars = select(Fine.id).where(col(Fine.plate).in_(plates))
    payments = session.exec(delete(Payment).where(col(Payment.fine_id).in_(on_demo_cars))).rowcount
    session.exec(delete(CreditOutboxEntry).where(col(CreditOutboxEntry.fine_id).in_(on_demo_cars)))
    extra = session.exec(
        delete(Fine).where(
            col(Fine.plate).in_(plates), col(Fine.reference).not_in(references) | col(Fine.reference).is_(None)
        )
    ).rowcount
    restored = 0
    for car in cars:
        if session.get(Vehicle, car.plate) is None:
            continue  # not seeded (yet): the seed registers it with its fines
        for seeded, reference in zip(car.fines, car.references, strict=True):
            fine = session.exec(select(Fine).where(col(Fine.reference) == reference)).first()
            if fine is None:
                add_fine(session, seeded, reference=reference)
            else:
                fine.sqlmodel_update(seeded.model_dump() | {"occurred_at": seeded.occurred_at.astimezone(UTC)})
                fine.status, fine.paid_at = FineStatus.UNPAID, None
                session.add(fine)
            restored += 1
    session.flush()
    return {"fines restored": restored, "payments removed": payments, "other fines removed": extra}
