"""Changing a booking after it was made: cancelling it, or moving it to another slot.

Where one transaction touches several rows it locks them in one order — the booking first, then
slots by id — so two concurrent operations on PostgreSQL cannot deadlock on each other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from services.appointments.bookings import booking_view, current_booking
from services.appointments.errors import (
    BookingChanged,
    NotAParty,
    SlotFull,
    SlotInPast,
    SlotNotFound,
    WrongAppointmentType,
    booking_closed,
)
from services.appointments.models import (
    ACTIVE_STATUSES,
    AppointmentType,
    Booking,
    BookingPublic,
    BookingStatus,
    Slot,
    as_utc,
)
from services.appointments.office_time import utc
from services.appointments.places import close_booking, free_place, lapse_overdue, load, take_place


def _check_party(booking: Booking, subject: str | None) -> None:
    if subject is not None and subject not in (booking.subject, booking.partner_subject):
        raise NotAParty()


def _check_not_begun(session: Session, booking: Booking, now: datetime) -> None:
    slot = session.get(Slot, booking.slot_id)
    assert slot is not None
    if as_utc(slot.starts_at) <= now:
        raise SlotInPast(booking.slot_id)


def cancel(session: Session, booking_id: str, *, subject: str | None = None, now: datetime) -> BookingPublic:
    """Cancel and free the place; cancelling a cancelled booking again changes nothing."""
    now = utc(now)
    booking = current_booking(session, booking_id, now)
    _check_party(booking, subject)
    if booking.status == BookingStatus.LAPSED:
        raise booking_closed(booking)
    if booking.status != BookingStatus.CANCELLED:
        _check_not_begun(session, booking, now)
        session.rollback()
        close_booking(session, booking_id, booking.slot_id, BookingStatus.CANCELLED, now)
        session.commit()
        booking = current_booking(session, booking_id, now)
        if booking.status == BookingStatus.LAPSED:  # it lapsed in the meantime
            raise booking_closed(booking)
    view = booking_view(session, booking)
    session.rollback()
    return view


def reschedule(
    session: Session, booking_id: str, *, slot_id: int, subject: str | None = None, now: datetime
) -> BookingPublic:
    """Move an open booking to another slot of the same type: the new place is taken and the old one
    freed in one transaction, or (new slot full, booking changed meanwhile) nothing changes."""
    now = utc(now)
    booking = current_booking(session, booking_id, now)
    _check_party(booking, subject)
    if booking.status not in ACTIVE_STATUSES:
        raise booking_closed(booking)
    new_slot = load(session, Slot, slot_id)
    if new_slot is None:
        raise SlotNotFound(slot_id)
    if new_slot.type != booking.type:
        raise WrongAppointmentType(new_slot, AppointmentType(booking.type))
    _check_not_begun(session, booking, now)
    new_start = as_utc(new_slot.starts_at)
    if new_start <= now:
        raise SlotInPast(slot_id)
    old_slot_id = booking.slot_id
    if slot_id != old_slot_id:
        lapse_overdue(session, now, slot_ids=[slot_id])
        confirm_by = min(as_utc(booking.confirm_by), new_start) if booking.confirm_by is not None else None
        # the booking row first, then the slots in id order: the lock order of every operation here
        moved = (
            session.exec(
                update(Booking)
                .where(
                    col(Booking.id) == booking_id,
                    col(Booking.slot_id) == old_slot_id,
                    col(Booking.status).in_(ACTIVE_STATUSES),
                )
                .values(slot_id=slot_id, confirm_by=confirm_by)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )
        if not moved:
            session.rollback()
            raise BookingChanged(booking_id)
        for each in sorted((slot_id, old_slot_id)):
            if each == slot_id:
                if not take_place(session, slot_id):
                    session.rollback()
                    raise SlotFull(slot_id)
            else:
                free_place(session, old_slot_id)
        session.commit()
    moved_booking = load(session, Booking, booking_id)
    assert moved_booking is not None
    view = booking_view(session, moved_booking)
    session.rollback()
    return view
