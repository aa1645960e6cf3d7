"""A slot's places, and lapsing: the only code that changes ``Slot.booked``.

Places are never over-booked: a place is taken only by one conditional UPDATE
(``booked = booked + 1 WHERE id = :id AND booked < capacity``) in the same transaction as the
booking row, and the table's CHECK constraint refuses ``booked > capacity`` besides. A place is given
back only by the transaction that closes (or moves) its booking.

Lapsing needs no scheduler: every read or write that touches a booking or a slot first lapses what is
overdue there (``lapse_overdue``), and ``lapse_overdue(session, now)`` with no scope is the sweep an
operator (or a test) may call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.appointments.models import ACTIVE_STATUSES, Booking, BookingStatus, Slot
from services.appointments.office_time import utc

Row = TypeVar("Row", Booking, Slot)


def load(session: Session, model: type[Row], key: str | int) -> Row | None:
    # populate_existing: conditional UPDATEs bypass the identity map, so never trust a cached row
    return session.get(model, key, populate_existing=True)


def take_place(session: Session, slot_id: int) -> bool:
    """Take one place of the slot, in the caller's transaction; False if none is free."""
    taken = session.exec(
        update(Slot)
        .where(col(Slot.id) == slot_id, col(Slot.booked) < col(Slot.capacity))
        .values(booked=col(Slot.booked) + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(taken == 1)


def free_place(session: Session, slot_id: int) -> None:
    """Give one place of the slot back, in the caller's transaction (its booking closed or moved)."""
    session.exec(
        update(Slot)
        .where(col(Slot.id) == slot_id)
        .values(booked=col(Slot.booked) - 1)
        .execution_options(synchronize_session=False)
    )


def close_booking(
    session: Session,
    booking_id: str,
    slot_id: int,
    status: BookingStatus,
    now: datetime,
    *,
    only_if_overdue: bool = False,
) -> bool:
    """Close an open booking and free its place, in the caller's transaction. False if it was not open
    (a concurrent request closed it first: then its place was freed exactly once, by that request)."""
    conditions: list[ColumnElement[bool]] = [col(Booking.id) == booking_id, col(Booking.status).in_(ACTIVE_STATUSES)]
    if only_if_overdue:
        conditions += [col(Booking.status) == BookingStatus.PENDING, col(Booking.confirm_by) <= now]
    closed = (
        session.exec(
            update(Booking)
            .where(*conditions)
            .values(status=status, closed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    if closed:
        free_place(session, slot_id)
    return bool(closed)


def lapse_overdue(
    session: Session,
    now: datetime,
    *,
    slot_ids: Iterable[int] | SelectOfScalar[Any] | None = None,
    booking_ids: Sequence[str] = (),
    subjects: Sequence[str] = (),
    marriage_ids: Sequence[int] = (),
) -> int:
    """Lapse pending bookings whose confirmation window has passed, freeing their places; each in
    its own short transaction. Scoped to the given slots (a sequence or a subquery), bookings,
    subjects (as booker or partner) and marriages; with no scope at all, every overdue booking
    (the sweep). Returns how many this call lapsed."""
    now = utc(now)
    scope: list[ColumnElement[bool]] = []
    if slot_ids is not None:
        scope.append(col(Booking.slot_id).in_(slot_ids))
    if booking_ids:
        scope.append(col(Booking.id).in_(booking_ids))
    if subjects:
        scope += [col(Booking.subject).in_(subjects), col(Booking.partner_subject).in_(subjects)]
    if marriage_ids:
        scope.append(col(Booking.marriage_id).in_(marriage_ids))
    overdue_query = (
        select(Booking.id, Booking.slot_id)
        .where(
            col(Booking.status) == BookingStatus.PENDING,
            col(Booking.confirm_by) <= now,
        )
        .order_by(col(Booking.id))
    )
    if scope:
        overdue_query = overdue_query.where(or_(*scope))
    overdue = session.exec(overdue_query).all()
    session.rollback()  # end the read: each lapse below is its own transaction
    lapsed = 0
    for booking_id, slot_id in overdue:
        lapsed += close_booking(session, booking_id, slot_id, BookingStatus.LAPSED, now, only_if_overdue=True)
        session.commit()
    return lapsed
