"""Demo data: one registration office with slots for the next 14 days, a one-place slot for the
concurrency demo, and Chen Jun and Zhang Min's marriage in the register (the divorce journey).
Idempotent, so every start may run it (a later start adds the days that have come into range). The
marriage goes in as the bureau's register desk records one (``services.appointments.register``)."""

from __future__ import annotations

import asyncio
import time as clock
from datetime import date, datetime, time, timedelta

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import or_
from sqlmodel import Session, col, select

from kernel.personas import PERSONAS, Persona, by_handle
from kernel.problems import Problem
from kernel.state import state_of
from kernel.write_locks import lock_for_writing
from services.appointments.dependencies import AppointmentsState
from services.appointments.models import (
    ACTIVE_STATUSES,
    AppointmentType,
    Booking,
    Marriage,
    Office,
    Slot,
    as_utc,
)
from services.appointments.office_time import CHINA_STANDARD_TIME, utc
from services.appointments.places import free_place
from services.appointments.register import register_marriage

HUSBAND, WIFE = by_handle("chen-jun"), by_handle("zhang-min")
MARRIED_ON = date(2016, 5, 20)  # 520, "wo ai ni": a favourite wedding date in China
DEMO_OFFICE = Office(
    id="gz-tianhe",
    name="广州市天河区婚姻登记处",
    name_en="Tianhe District Marriage Registration Office, Guangzhou",
    address="广州市天河区天府路 (Tianfu Road, Tianhe District, Guangzhou) — demo data",
)
DAYS = 14
SLOT_MINUTES = 30
# (type, opening times at the office, places per slot)
TIMETABLE: tuple[tuple[AppointmentType, tuple[time, ...], int], ...] = (
    (AppointmentType.MARRIAGE, (time(9), time(10), time(11), time(14), time(15), time(16)), 4),
    (AppointmentType.DIVORCE, (time(9, 30), time(10, 30), time(14, 30), time(15, 30)), 2),
    (AppointmentType.CERTIFICATE_COPY, (time(9), time(11), time(14), time(16)), 6),
)
# Tomorrow at 08:30, before the office's regular hours: one place, for "100 people press Book at once".
ONE_PLACE_TYPE = AppointmentType.CERTIFICATE_COPY
ONE_PLACE_TIME = time(8, 30)


def one_place_start(today: date) -> datetime:
    return utc(datetime.combine(today + timedelta(days=1), ONE_PLACE_TIME, CHINA_STANDARD_TIME))


async def seed_demo(app: FastAPI) -> None:
    # As at the registration desk: the bureau keeps the couple under the subjects its sector knows
    # them by (resident IDs on the platform, civil-registry pseudonyms in the rights regime).
    state = state_of(app, AppointmentsState)
    husband = await _sector_subject(state, HUSBAND)
    wife = await _sector_subject(state, WIFE)
    today = state.clock().astimezone(CHINA_STANDARD_TIME).date()
    await run_in_threadpool(_seed_in_own_transaction, state, husband, wife, today)


async def _sector_subject(state: AppointmentsState, persona: Persona, wait_seconds: float = 60) -> str:
    """Waits for the identity service to come up and for its own (concurrent) demo seed to have
    enrolled the persona: until then it answers 404 citizen-not-found."""
    deadline = clock.monotonic() + wait_seconds
    while True:
        try:
            return await state.services.sector_subject(persona.resident_id, wait_seconds=wait_seconds)
        except Problem as problem:
            if problem.status != 404 or clock.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.25)


def _seed_in_own_transaction(state: AppointmentsState, husband: str, wife: str, today: date) -> None:
    with state.database.session() as session:
        seed_office(session, today)
        register_marriage(session, husband, wife, MARRIED_ON)
        session.commit()


def seed_office(session: Session, today: date) -> None:
    if session.get(Office, DEMO_OFFICE.id) is None:
        session.add(Office(**DEMO_OFFICE.model_dump()))
        session.flush()
    wanted: dict[tuple[AppointmentType, datetime], int] = {(ONE_PLACE_TYPE, one_place_start(today)): 1}
    for day in (today + timedelta(days=n) for n in range(DAYS)):
        for appointment_type, times, capacity in TIMETABLE:
            for opening in times:
                wanted[(appointment_type, utc(datetime.combine(day, opening, CHINA_STANDARD_TIME)))] = capacity
    existing = {
        (kind, as_utc(starts_at))
        for kind, starts_at in session.exec(
            select(Slot.type, Slot.starts_at).where(
                col(Slot.office_id) == DEMO_OFFICE.id,
                col(Slot.starts_at) >= min(starts_at for _, starts_at in wanted),
            )
        ).all()
    }
    session.add_all(
        Slot(
            office_id=DEMO_OFFICE.id,
            type=kind,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=SLOT_MINUTES),
            capacity=capacity,
        )
        for (kind, starts_at), capacity in sorted(wanted.items())
        if (kind, starts_at) not in existing
    )
    session.flush()


# --- replaying: POST /demo/reset (kernel.demo_reset) -------------------------------------------------------


async def reset_demo(app: FastAPI) -> dict[str, int]:
    """The personas' bookings gone and their places freed, the couple's marriage as registered (not
    dissolved), the office's slots as seeded; nobody else's bookings or marriages are touched."""
    state = state_of(app, AppointmentsState)
    subjects = {persona.handle: await _sector_subject(state, persona) for persona in PERSONAS}
    today = state.clock().astimezone(CHINA_STANDARD_TIME).date()
    return await run_in_threadpool(_reset_in_own_transaction, state, subjects, today)


def _reset_in_own_transaction(state: AppointmentsState, subjects: dict[str, str], today: date) -> dict[str, int]:
    with state.database.session() as session:
        summary = reset_personas(session, subjects, today)
        session.commit()
    return summary


def reset_personas(session: Session, subjects: dict[str, str], today: date) -> dict[str, int]:
    """In the caller's transaction (``subjects``: each persona's handle -> the sector's subject for them)."""
    everyone = list(subjects.values())
    lock_for_writing(session, *(f"appointments.spouse:{subject}" for subject in everyone))
    theirs = session.exec(
        select(Booking).where(or_(col(Booking.subject).in_(everyone), col(Booking.partner_subject).in_(everyone)))
    ).all()
    for booking in theirs:
        if booking.status in ACTIVE_STATUSES:
            free_place(session, booking.slot_id)
        session.delete(booking)
    session.flush()
    husband, wife = subjects[HUSBAND.handle], subjects[WIFE.handle]
    marriages = session.exec(
        select(Marriage).where(or_(col(Marriage.spouse_a).in_(everyone), col(Marriage.spouse_b).in_(everyone)))
    ).all()
    removed = 0
    for marriage in marriages:
        if {marriage.spouse_a, marriage.spouse_b} == {husband, wife} and marriage.registered_on == MARRIED_ON:
            marriage.dissolved_on = None
            session.add(marriage)
        else:
            session.delete(marriage)  # recorded by a journey or an operator since the seed
            removed += 1
    session.flush()
    seed_office(session, today)
    register_marriage(session, husband, wife, MARRIED_ON)
    return {"bookings removed": len(theirs), "marriages removed": removed}
