"""Booking a place, and reading bookings back.

A booking is made in two steps around the regime's admission policy (``domain.create_booking``):
``plan_booking`` runs every check against the bureau's own data and writes nothing; ``book`` takes
the place and writes the booking in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.appointments.errors import (
    AlreadyBooked,
    AlreadyMarried,
    BookingNotFound,
    NotMarried,
    SlotFull,
    SlotInPast,
    SlotNotFound,
    WrongAppointmentType,
)
from services.appointments.invitation_codes import code_digest, new_invitation_code
from services.appointments.models import (
    ACTIVE_STATUSES,
    AppointmentType,
    Booking,
    BookingCreate,
    BookingCreated,
    BookingPublic,
    BookingStatus,
    PartyBooking,
    Slot,
    as_utc,
)
from services.appointments.office_time import utc
from services.appointments.places import lapse_overdue, load, take_place
from services.appointments.register import current_marriage, spouse_in


@dataclass(frozen=True)
class BookingPlan:
    """What a booking request will write, once every check that needs no other service has passed."""

    slot_id: int
    type: AppointmentType
    subject: str
    partner: str | None  # known now for a divorce (from the register); a marriage's arrives with its code
    marriage_id: int | None
    confirm_by: datetime | None


def plan_booking(session: Session, body: BookingCreate, *, window: timedelta, now: datetime) -> BookingPlan:
    """Every check against this bureau's own data, before anyone else is asked (404, 409, 422)."""
    now = utc(now)
    slot = load(session, Slot, body.slot_id)
    if slot is None:
        raise SlotNotFound(body.slot_id)
    if slot.type != body.type:
        raise WrongAppointmentType(slot, body.type)
    starts_at = as_utc(slot.starts_at)
    if starts_at <= now:
        raise SlotInPast(body.slot_id)
    marriage = current_marriage(session, body.subject)
    lapse_overdue(
        session,
        now,
        slot_ids=[body.slot_id],
        subjects=[body.subject],
        marriage_ids=[marriage.id] if marriage is not None and marriage.id is not None else [],
    )
    partner = None
    if body.type is AppointmentType.DIVORCE:
        if marriage is None:
            raise NotMarried()
        partner = spouse_in(marriage, body.subject)
    elif body.type is AppointmentType.MARRIAGE and marriage is not None:
        raise AlreadyMarried("booking citizen")
    divorce_of_this_marriage: ColumnElement[bool] = (
        col(Booking.marriage_id) == marriage.id
        if body.type is AppointmentType.DIVORCE and marriage is not None
        else false()
    )
    open_bookings = select(Booking.id).where(col(Booking.status).in_(ACTIVE_STATUSES))
    duplicate = session.exec(
        open_bookings.where(
            or_(
                (col(Booking.subject) == body.subject) & (col(Booking.type) == body.type),
                divorce_of_this_marriage,
            )
        )
    ).first()
    if duplicate is not None:
        raise AlreadyBooked(body.type)
    slot = load(session, Slot, body.slot_id)  # after lapsing: a place may have been freed
    assert slot is not None
    if slot.booked >= slot.capacity:
        raise SlotFull(body.slot_id)  # early, so a full slot costs no credit query; book() decides
    session.rollback()
    return BookingPlan(
        slot_id=body.slot_id,
        type=body.type,
        subject=body.subject,
        partner=partner,
        marriage_id=marriage.id if body.type is AppointmentType.DIVORCE and marriage is not None else None,
        confirm_by=min(now + window, starts_at) if body.type.needs_partner else None,
    )


def book(session: Session, plan: BookingPlan, *, now: datetime) -> BookingCreated:
    """Take a place and write the booking in one transaction: a full slot (409) or a duplicate open
    booking (409, from the partial unique indexes) leaves nothing written."""
    now = utc(now)
    if not take_place(session, plan.slot_id):
        session.rollback()
        raise SlotFull(plan.slot_id)
    code = new_invitation_code() if plan.type is AppointmentType.MARRIAGE else None
    booking = Booking(
        id=str(uuid.uuid4()),
        slot_id=plan.slot_id,
        type=plan.type,
        subject=plan.subject,
        partner_subject=plan.partner,
        marriage_id=plan.marriage_id,
        status=BookingStatus.PENDING if plan.type.needs_partner else BookingStatus.CONFIRMED,
        created_at=now,
        confirm_by=plan.confirm_by,
        invitation_code_hash=code_digest(code) if code else None,
    )
    session.add(booking)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # the place taken above is given back with it
        raise AlreadyBooked(plan.type) from None
    return BookingCreated(**booking_view(session, booking).model_dump(), invitation_code=code)


def booking_view(session: Session, booking: Booking) -> BookingPublic:
    slot = session.get(Slot, booking.slot_id)
    assert slot is not None
    return BookingPublic(
        id=booking.id,
        slot_id=booking.slot_id,
        office_id=slot.office_id,
        type=booking.type,
        starts_at=slot.starts_at,
        status=booking.status,
        created_at=booking.created_at,
        confirm_by=booking.confirm_by,
        partner_confirmed=(booking.partner_confirmed_at is not None)
        if AppointmentType(booking.type).needs_partner
        else None,
        closed_at=booking.closed_at,
    )


def current_booking(session: Session, booking_id: str, now: datetime) -> Booking:
    """The booking as it stands at ``now`` (lapsed first if overdue), in an open read; 404 if unknown."""
    lapse_overdue(session, now, booking_ids=[booking_id])
    booking = load(session, Booking, booking_id)
    if booking is None:
        raise BookingNotFound(booking_id)
    return booking


def get_booking(session: Session, booking_id: str, *, now: datetime) -> BookingPublic:
    view = booking_view(session, current_booking(session, booking_id, now))
    session.rollback()
    return view


def party_booking(session: Session, booking_id: str, subject: str, *, now: datetime) -> BookingPublic:
    """One booking ``subject`` takes part in; one they take no part in is "not found", as an unknown one is."""
    booking = session.get(Booking, booking_id)
    if booking is None or subject not in (booking.subject, booking.partner_subject):
        raise BookingNotFound(booking_id)
    session.rollback()  # end the read before get_booking's own transaction (it may lapse the booking)
    return get_booking(session, booking_id, now=now)


def bookings_of(session: Session, subject: str, *, now: datetime) -> list[PartyBooking]:
    """Every booking in which ``subject`` takes part, newest first: how a spouse finds the divorce
    booking waiting for their confirmation without anyone passing them an identifier."""
    lapse_overdue(session, now, subjects=[subject])
    bookings = session.exec(
        select(Booking)
        .where(or_(col(Booking.subject) == subject, col(Booking.partner_subject) == subject))
        .order_by(col(Booking.created_at).desc(), col(Booking.id))
    ).all()
    views = []
    for booking in bookings:
        role = "booker" if booking.subject == subject else "partner"
        awaiting = (
            role == "partner" and booking.status == BookingStatus.PENDING and booking.partner_confirmed_at is None
        )
        views.append(
            PartyBooking(**booking_view(session, booking).model_dump(), role=role, awaiting_your_confirmation=awaiting)
        )
    session.rollback()
    return views
