"""The partner's confirmation of a marriage or divorce booking.

A divorce names the spouse from the register, who confirms as themselves; a marriage's partner joins
with the booker's one-time invitation code (services/appointments/invitation_codes.py). Like a
booking, a confirmation is planned (``plan_confirmation``: who confirms, nothing written but a wrong
code's count), then written (``confirm``), with the admission policy in between for a joining partner
(``domain.confirm_booking``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col

from services.appointments.bookings import booking_view, current_booking
from services.appointments.errors import (
    AlreadyMarried,
    InvalidInvitationCode,
    NoConfirmationNeeded,
    NotThePartner,
    booking_closed,
)
from services.appointments.invitation_codes import MAX_CODE_ATTEMPTS, code_digest
from services.appointments.models import (
    ACTIVE_STATUSES,
    AppointmentType,
    Booking,
    BookingPublic,
    BookingStatus,
    ConfirmationCreate,
)
from services.appointments.office_time import utc
from services.appointments.places import load
from services.appointments.register import current_marriage


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
    booking = current_booking(session, booking_id, now)
    if not AppointmentType(booking.type).needs_partner:
        raise NoConfirmationNeeded(booking)
    if booking.status not in ACTIVE_STATUSES:
        raise booking_closed(booking)
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
        .where(col(Booking.id) == booking_id, col(Booking.invitation_code_hash).is_not(None))
        .values(failed_code_attempts=col(Booking.failed_code_attempts) + 1)
        .execution_options(synchronize_session=False)
    )
    session.exec(
        update(Booking)
        .where(col(Booking.id) == booking_id, col(Booking.failed_code_attempts) >= MAX_CODE_ATTEMPTS)
        .values(invitation_code_hash=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def confirm(session: Session, plan: ConfirmationPlan | None, booking_id: str, *, now: datetime) -> BookingPublic:
    """The partner's confirmation, in one conditional UPDATE: still pending, still inside the window,
    and (marriage) the code still unused — so of two people racing with one code, one joins."""
    now = utc(now)
    if plan is not None:
        conditions: list[ColumnElement[bool]] = [
            col(Booking.id) == plan.booking_id,
            col(Booking.status) == BookingStatus.PENDING,
            col(Booking.confirm_by) > now,
        ]
        values: dict[str, Any] = {"partner_confirmed_at": now, "status": BookingStatus.CONFIRMED}
        if plan.joins:
            conditions += [
                col(Booking.partner_subject).is_(None),
                col(Booking.invitation_code_hash) == plan.code_digest,
            ]
            values |= {"partner_subject": plan.subject, "invitation_code_hash": None}
        else:
            conditions.append(col(Booking.partner_subject) == plan.subject)
        confirmed = (
            session.exec(
                update(Booking).where(*conditions).values(**values).execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )
        session.commit()
        if not confirmed:
            booking = current_booking(session, booking_id, now)  # lapses it if the window just closed
            if booking.status not in ACTIVE_STATUSES:
                raise booking_closed(booking)
            if booking.partner_subject != plan.subject:
                raise InvalidInvitationCode() if plan.joins else NotThePartner()
    confirmed_booking = load(session, Booking, booking_id)
    assert confirmed_booking is not None
    view = booking_view(session, confirmed_booking)
    session.rollback()
    return view
