"""The civil affairs bureau's operations, without HTTP.

Every function takes ``now``, so lapsing can be shown and tested without waiting, and ends its
own transactions (commit or rollback), so no database connection is held while a route awaits
another service between two of them.

Places are never over-booked: a place is taken only by one conditional UPDATE
(``booked = booked + 1 WHERE id = :id AND booked < capacity``) in the same transaction as the
booking row, and the table's CHECK constraint refuses ``booked > capacity`` besides. Where one
transaction touches several rows it locks them in one order — the booking first, then slots by
id — so two concurrent operations on PostgreSQL cannot deadlock on each other.

Lapsing needs no scheduler: every read or write that touches a booking or a slot first lapses
what is overdue there (``lapse_overdue``), and ``lapse_overdue(session, now)`` with no scope is
the sweep an operator (or a test) may call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import TypeVar

from sqlalchemy import false, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kernel.problems import Problem
from services.appointments.models import (
    ACTIVE_STATUSES,
    AppointmentType,
    Booking,
    BookingCreate,
    BookingCreated,
    BookingPublic,
    BookingStatus,
    ConfirmationCreate,
    Marriage,
    Office,
    PartyBooking,
    Slot,
    SlotPublic,
    as_utc,
)

Row = TypeVar("Row", Booking, Slot)
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))  # the offices' wall clock, for "slots on this date"
MAX_CODE_ATTEMPTS = 5  # wrong invitation codes before the code is void (the booking then lapses)
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread
CODE_LENGTH = 12  # 60 bits, shown as XXXX-XXXX-XXXX


# --- problems -------------------------------------------------------------------------------------


class OfficeNotFound(Problem):
    def __init__(self, office_id: str) -> None:
        super().__init__(404, f"No office {office_id!r}.", kind="office-not-found")


class SlotNotFound(Problem):
    def __init__(self, slot_id: int) -> None:
        super().__init__(404, f"No slot {slot_id}.", kind="slot-not-found")


class BookingNotFound(Problem):
    def __init__(self, booking_id: str) -> None:
        super().__init__(404, f"No booking {booking_id!r}.", kind="booking-not-found")


class SlotFull(Problem):
    def __init__(self, slot_id: int) -> None:
        super().__init__(409, f"Slot {slot_id} has no free place left.", kind="slot-full", slot_id=slot_id)


class SlotInPast(Problem):
    def __init__(self, slot_id: int) -> None:
        super().__init__(409, f"Slot {slot_id} has already begun.", kind="slot-in-past", slot_id=slot_id)


class WrongAppointmentType(Problem):
    def __init__(self, slot: Slot, asked: AppointmentType) -> None:
        super().__init__(
            422,
            f"Slot {slot.id} is for {slot.type!s} appointments, not {asked!s}.",
            kind="wrong-appointment-type",
            slot_type=str(slot.type),
        )


class NotMarried(Problem):
    def __init__(self) -> None:
        super().__init__(
            409, "The marriage register holds no current marriage of the booking citizen.", kind="not-married"
        )


class AlreadyMarried(Problem):
    def __init__(self, who: str) -> None:
        super().__init__(409, f"The marriage register shows the {who} as married.", kind="already-married")


class AlreadyBooked(Problem):
    def __init__(self, appointment_type: AppointmentType) -> None:
        super().__init__(
            409,
            f"There is already an open {appointment_type!s} booking for this citizen"
            f"{' or this marriage' if appointment_type is AppointmentType.DIVORCE else ''}.",
            kind="already-booked",
        )


class BookingClosed(Problem):
    def __init__(self, booking: Booking) -> None:
        status = BookingStatus(booking.status)
        super().__init__(409, f"Booking {booking.id} has {status}.", kind=f"booking-{status}", booking_status=status)


class BookingChanged(Problem):
    def __init__(self, booking_id: str) -> None:
        super().__init__(
            409, f"Booking {booking_id} changed meanwhile; read it again and retry.", kind="booking-changed"
        )


class NoConfirmationNeeded(Problem):
    def __init__(self, booking: Booking) -> None:
        super().__init__(
            409,
            f"A {booking.type} booking has one citizen; there is nothing to confirm.",
            kind="no-confirmation-needed",
        )


class NotThePartner(Problem):
    def __init__(self) -> None:
        super().__init__(403, "Only the partner named by this booking may confirm it.", kind="not-the-partner")


class InvalidInvitationCode(Problem):
    def __init__(self) -> None:
        super().__init__(403, "The invitation code is wrong or no longer valid.", kind="invalid-invitation-code")


class NotAParty(Problem):
    def __init__(self) -> None:
        super().__init__(403, "Only the booker or the partner may change this booking.", kind="not-a-party")


# --- time and codes -------------------------------------------------------------------------------


def utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime as now")
    return now.astimezone(UTC)  # SQLite stores the wall clock only, so always store UTC


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC interval of a calendar day at the offices (China Standard Time)."""
    start = datetime.combine(day, time(0), CHINA_STANDARD_TIME)
    return utc(start), utc(start + timedelta(days=1))


def new_invitation_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def code_digest(code: str) -> str:
    """Only this digest is stored. Dashes, spaces and case do not matter, nor O/0 and I/L/1 confusions."""
    normalised = code.upper().replace("-", "").replace(" ", "").replace("O", "0").replace("I", "1").replace("L", "1")
    return hashlib.sha256(normalised.encode()).hexdigest()


def _load(session: Session, model: type[Row], key) -> Row | None:
    # populate_existing: conditional UPDATEs bypass the identity map, so never trust a cached row
    return session.get(model, key, populate_existing=True)


# --- lapsing --------------------------------------------------------------------------------------


def _close(
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
    conditions = [Booking.id == booking_id, Booking.status.in_(ACTIVE_STATUSES)]
    if only_if_overdue:
        conditions += [Booking.status == BookingStatus.PENDING, Booking.confirm_by <= now]
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
        session.exec(
            update(Slot)
            .where(Slot.id == slot_id)
            .values(booked=Slot.booked - 1)
            .execution_options(synchronize_session=False)
        )
    return closed


def lapse_overdue(
    session: Session,
    now: datetime,
    *,
    slot_ids=None,
    booking_ids: Sequence[str] = (),
    subjects: Sequence[str] = (),
    marriage_ids: Sequence[int] = (),
) -> int:
    """Lapse pending bookings whose confirmation window has passed, freeing their places; each in
    its own short transaction. Scoped to the given slots (a sequence or a subquery), bookings,
    subjects (as booker or partner) and marriages; with no scope at all, every overdue booking
    (the sweep). Returns how many this call lapsed."""
    now = utc(now)
    scope = []
    if slot_ids is not None:
        scope.append(Booking.slot_id.in_(slot_ids))
    if booking_ids:
        scope.append(Booking.id.in_(booking_ids))
    if subjects:
        scope += [Booking.subject.in_(subjects), Booking.partner_subject.in_(subjects)]
    if marriage_ids:
        scope.append(Booking.marriage_id.in_(marriage_ids))
    overdue_query = (
        select(Booking.id, Booking.slot_id)
        .where(
            Booking.status == BookingStatus.PENDING,
            Booking.confirm_by <= now,
        )
        .order_by(Booking.id)
    )
    if scope:
        overdue_query = overdue_query.where(or_(*scope))
    overdue = session.exec(overdue_query).all()
    session.rollback()  # end the read: each lapse below is its own transaction
    lapsed = 0
    for booking_id, slot_id in overdue:
        lapsed += _close(session, booking_id, slot_id, BookingStatus.LAPSED, now, only_if_overdue=True)
        session.commit()
    return lapsed


# --- offices and slots ----------------------------------------------------------------------------


def list_offices(session: Session) -> Sequence[Office]:
    return session.exec(select(Office).order_by(Office.id)).all()


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
    conditions = [Slot.starts_at > now]
    if office_id is not None:
        conditions.append(Slot.office_id == office_id)
    if appointment_type is not None:
        conditions.append(Slot.type == appointment_type)
    if on is not None:
        start, end = day_bounds(on)
        conditions += [Slot.starts_at >= start, Slot.starts_at < end]
    lapse_overdue(session, now, slot_ids=select(Slot.id).where(*conditions))
    slots = session.exec(
        select(Slot).where(*conditions, Slot.booked < Slot.capacity).order_by(Slot.starts_at, Slot.id).limit(limit)
    ).all()
    session.rollback()
    return [slot_view(slot) for slot in slots]


def get_slot(session: Session, slot_id: int, *, now: datetime) -> SlotPublic:
    lapse_overdue(session, now, slot_ids=[slot_id])
    slot = _load(session, Slot, slot_id)
    if slot is None:
        raise SlotNotFound(slot_id)
    view = slot_view(slot)
    session.rollback()
    return view


# --- the register ---------------------------------------------------------------------------------


def current_marriage(session: Session, subject: str) -> Marriage | None:
    return session.exec(
        select(Marriage).where(
            or_(Marriage.spouse_a == subject, Marriage.spouse_b == subject),
            Marriage.dissolved_on.is_(None),
        )
    ).first()


def register_marriage(session: Session, spouse_a: str, spouse_b: str, registered_on: date) -> Marriage:
    """Record a marriage (demo seeds and tests; the bureau's desk, not the API). Idempotent."""
    existing = session.exec(
        select(Marriage).where(
            or_(
                (Marriage.spouse_a == spouse_a) & (Marriage.spouse_b == spouse_b),
                (Marriage.spouse_a == spouse_b) & (Marriage.spouse_b == spouse_a),
            )
        )
    ).first()
    if existing is not None:
        return existing
    marriage = Marriage(spouse_a=spouse_a, spouse_b=spouse_b, registered_on=registered_on)
    session.add(marriage)
    session.flush()
    return marriage


def spouse_in(marriage: Marriage, subject: str) -> str:
    return marriage.spouse_b if marriage.spouse_a == subject else marriage.spouse_a


# --- bookings -------------------------------------------------------------------------------------


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
    slot = _load(session, Slot, body.slot_id)
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
        marriage_ids=[marriage.id] if marriage is not None else [],
    )
    partner = None
    if body.type is AppointmentType.DIVORCE:
        if marriage is None:
            raise NotMarried()
        partner = spouse_in(marriage, body.subject)
    elif body.type is AppointmentType.MARRIAGE and marriage is not None:
        raise AlreadyMarried("booking citizen")
    open_bookings = select(Booking.id).where(Booking.status.in_(ACTIVE_STATUSES))
    duplicate = session.exec(
        open_bookings.where(
            or_(
                (Booking.subject == body.subject) & (Booking.type == body.type),
                (Booking.marriage_id == marriage.id) if body.type is AppointmentType.DIVORCE else false(),
            )
        )
    ).first()
    if duplicate is not None:
        raise AlreadyBooked(body.type)
    slot = _load(session, Slot, body.slot_id)  # after lapsing: a place may have been freed
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
    taken = (
        session.exec(
            update(Slot)
            .where(Slot.id == plan.slot_id, Slot.booked < Slot.capacity)
            .values(booked=Slot.booked + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    if not taken:
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


def _current_booking(session: Session, booking_id: str, now: datetime) -> Booking:
    lapse_overdue(session, now, booking_ids=[booking_id])
    booking = _load(session, Booking, booking_id)
    if booking is None:
        raise BookingNotFound(booking_id)
    return booking


def get_booking(session: Session, booking_id: str, *, now: datetime) -> BookingPublic:
    view = booking_view(session, _current_booking(session, booking_id, now))
    session.rollback()
    return view


def bookings_of(session: Session, subject: str, *, now: datetime) -> list[PartyBooking]:
    """Every booking in which ``subject`` takes part, newest first: how a spouse finds the divorce
    booking waiting for their confirmation without anyone passing them an identifier."""
    lapse_overdue(session, now, subjects=[subject])
    bookings = session.exec(
        select(Booking)
        .where(or_(Booking.subject == subject, Booking.partner_subject == subject))
        .order_by(Booking.created_at.desc(), Booking.id)
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


# --- confirmations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmationPlan:
    booking_id: str
    subject: str
    joins: bool  # a marriage partner joining with the code: not yet known to the booking (nor checked)
    code_digest: str | None = None


def plan_confirmation(
    session: Session, booking_id: str, body: ConfirmationCreate, *, now: datetime
) -> ConfirmationPlan | None:
    """Who confirms, checked against the booking; None if there is nothing left to do (this citizen
    already confirmed). A wrong marriage code is counted (and voids the code at MAX_CODE_ATTEMPTS)."""
    now = utc(now)
    booking = _current_booking(session, booking_id, now)
    if not AppointmentType(booking.type).needs_partner:
        raise NoConfirmationNeeded(booking)
    if booking.status not in ACTIVE_STATUSES:
        raise BookingClosed(booking)
    plan = None
    if body.subject == booking.subject or (
        body.subject == booking.partner_subject and booking.partner_confirmed_at is not None
    ):
        pass  # the booker confirmed by booking; a partner who confirmed already: nothing changes
    elif booking.partner_subject is not None:
        if body.subject != booking.partner_subject:
            raise NotThePartner()
        plan = ConfirmationPlan(booking_id, body.subject, joins=False)
    else:  # a marriage waiting for its second partner, who must bring the code
        digest = code_digest(body.invitation_code or "")
        if booking.invitation_code_hash is None or not hmac.compare_digest(digest, booking.invitation_code_hash):
            _count_wrong_code(session, booking_id)
            raise InvalidInvitationCode()
        if current_marriage(session, body.subject) is not None:
            raise AlreadyMarried("partner")
        plan = ConfirmationPlan(booking_id, body.subject, joins=True, code_digest=digest)
    session.rollback()
    return plan


def _count_wrong_code(session: Session, booking_id: str) -> None:
    session.rollback()
    session.exec(
        update(Booking)
        .where(Booking.id == booking_id, Booking.invitation_code_hash.is_not(None))
        .values(failed_code_attempts=Booking.failed_code_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.exec(
        update(Booking)
        .where(Booking.id == booking_id, Booking.failed_code_attempts >= MAX_CODE_ATTEMPTS)
        .values(invitation_code_hash=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def confirm(session: Session, plan: ConfirmationPlan | None, booking_id: str, *, now: datetime) -> BookingPublic:
    """The partner's confirmation, in one conditional UPDATE: still pending, still inside the window,
    and (marriage) the code still unused — so of two people racing with one code, one joins."""
    now = utc(now)
    if plan is not None:
        conditions = [Booking.id == plan.booking_id, Booking.status == BookingStatus.PENDING, Booking.confirm_by > now]
        values = {"partner_confirmed_at": now, "status": BookingStatus.CONFIRMED}
        if plan.joins:
            conditions += [Booking.partner_subject.is_(None), Booking.invitation_code_hash == plan.code_digest]
            values |= {"partner_subject": plan.subject, "invitation_code_hash": None}
        else:
            conditions.append(Booking.partner_subject == plan.subject)
        confirmed = (
            session.exec(
                update(Booking).where(*conditions).values(**values).execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )
        session.commit()
        if not confirmed:
            booking = _current_booking(session, booking_id, now)  # lapses it if the window just closed
            if booking.status not in ACTIVE_STATUSES:
                raise BookingClosed(booking)
            if booking.partner_subject != plan.subject:
                raise InvalidInvitationCode() if plan.joins else NotThePartner()
    booking = _load(session, Booking, booking_id)
    assert booking is not None
    view = booking_view(session, booking)
    session.rollback()
    return view


# --- cancelling and rescheduling ------------------------------------------------------------------


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
    booking = _current_booking(session, booking_id, now)
    _check_party(booking, subject)
    if booking.status == BookingStatus.LAPSED:
        raise BookingClosed(booking)
    if booking.status != BookingStatus.CANCELLED:
        _check_not_begun(session, booking, now)
        session.rollback()
        _close(session, booking_id, booking.slot_id, BookingStatus.CANCELLED, now)
        session.commit()
        booking = _current_booking(session, booking_id, now)
        if booking.status == BookingStatus.LAPSED:  # it lapsed in the meantime
            raise BookingClosed(booking)
    view = booking_view(session, booking)
    session.rollback()
    return view


def reschedule(
    session: Session, booking_id: str, *, slot_id: int, subject: str | None = None, now: datetime
) -> BookingPublic:
    """Move an open booking to another slot of the same type: the new place is taken and the old one
    freed in one transaction, or (new slot full, booking changed meanwhile) nothing changes."""
    now = utc(now)
    booking = _current_booking(session, booking_id, now)
    _check_party(booking, subject)
    if booking.status not in ACTIVE_STATUSES:
        raise BookingClosed(booking)
    new_slot = _load(session, Slot, slot_id)
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
                .where(Booking.id == booking_id, Booking.slot_id == old_slot_id, Booking.status.in_(ACTIVE_STATUSES))
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
                taken = (
                    session.exec(
                        update(Slot)
                        .where(Slot.id == slot_id, Slot.booked < Slot.capacity)
                        .values(booked=Slot.booked + 1)
                        .execution_options(synchronize_session=False)
                    ).rowcount
                    == 1
                )
                if not taken:
                    session.rollback()
                    raise SlotFull(slot_id)
            else:
                session.exec(
                    update(Slot)
                    .where(Slot.id == old_slot_id)
                    .values(booked=Slot.booked - 1)
                    .execution_options(synchronize_session=False)
                )
        session.commit()
    booking = _load(session, Booking, booking_id)
    assert booking is not None
    view = booking_view(session, booking)
    session.rollback()
    return view
