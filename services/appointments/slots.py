"""The registration offices and their slots, as citizens look for a free place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from services.appointments.errors import OfficeNotFound, SlotNotFound
from services.appointments.models import AppointmentType, Office, Slot, SlotPublic
from services.appointments.office_time import day_bounds, utc
from services.appointments.places import lapse_overdue, load


def list_offices(session: Session) -> Sequence[Office]:
    return session.exec(select(Office).order_by(col(Office.id))).all()


def slot_view(slot: Slot) -> SlotPublic:
    return SlotPublic.model_validate(slot, update={"free": slot.capacity - slot.booked})


def free_slots(
    session: Session,
    *,
    now: datetime,
    office_id: str | None = None,
    appointment_type: AppointmentType | None = None,
    on: date | None = None,
    limit: int = 500,
) -> list[SlotPublic]:
    """Future slots with at least one free place, earliest first."""
    now = utc(now)
    if office_id is not None and session.get(Office, office_id) is None:
        raise OfficeNotFound(office_id)
    conditions: list[ColumnElement[bool]] = [col(Slot.starts_at) > now]
    if office_id is not None:
        conditions.append(col(Slot.office_id) == office_id)
    if appointment_type is not None:
        conditions.append(col(Slot.type) == appointment_type)
    if on is not None:
        start, end = day_bounds(on)
        conditions += [col(Slot.starts_at) >= start, col(Slot.starts_at) < end]
    lapse_overdue(session, now, slot_ids=select(Slot.id).where(*conditions))
    slots = session.exec(
        select(Slot)
        .where(*conditions, col(Slot.booked) < col(Slot.capacity))
        .order_by(col(Slot.starts_at), col(Slot.id))
        .limit(limit)
    ).all()
    session.rollback()
    return [slot_view(slot) for slot in slots]


def get_slot(session: Session, slot_id: int, *, now: datetime) -> SlotPublic:
    lapse_overdue(session, now, slot_ids=[slot_id])
    slot = load(session, Slot, slot_id)
    if slot is None:
        raise SlotNotFound(slot_id)
    view = slot_view(slot)
    session.rollback()
    return view
