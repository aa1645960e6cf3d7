"""The citizen's own API: their civil-registry bookings, with the token their app holds for the
bureau (``kernel.citizens``), reached directly or through the super-app's blind courier
(``kernel.courier``).

The citizen is the token's ``sub`` (the subject the civil-registry sector knows them by), so the
bodies carry no ``subject``: a citizen books and confirms only as themselves. Booking and
confirming run the service routes' own steps (``routes.create_booking``, ``routes.confirm_booking``:
the bureau's checks, then the regime's admission policy, then the write), so the two doors cannot
drift apart — in the platform regime the credit blacklist applies here too. A booking the citizen
takes no part in is "not found", as an unknown one is.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from kernel.bounds import Reference, RowId
from kernel.citizens import CurrentCitizen
from kernel.dependencies import SessionDep
from services.appointments import domain, routes
from services.appointments.models import (
    AppointmentType,
    Booking,
    BookingCreate,
    BookingCreated,
    BookingPublic,
    ConfirmationCreate,
    PartyBooking,
)
from services.appointments.routes import Now

router = APIRouter(prefix="/me", tags=["the citizen's own"])


class MyBookingCreate(BaseModel):
    # extra forbidden: a "subject" in the body is an error, not silently someone else's booking
    model_config = ConfigDict(extra="forbid")

    slot_id: RowId
    type: AppointmentType


class MyConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invitation_code: str | None = Field(default=None, max_length=40, description="Marriage: the booker's code.")


@router.get("/bookings", summary="The bookings I take part in (as booker or partner), newest first")
def my_bookings(citizen: CurrentCitizen, session: SessionDep, now: Now) -> list[PartyBooking]:
    return domain.bookings_of(session, citizen.subject, now=now)


@router.post("/bookings", status_code=status.HTTP_201_CREATED, summary="Book a place in a slot, as myself")
async def book(
    body: MyBookingCreate, citizen: CurrentCitizen, request: Request, session: SessionDep, now: Now
) -> BookingCreated:
    booking = BookingCreate(slot_id=body.slot_id, type=body.type, subject=citizen.subject)
    # caller=None: the service route's caller is only its authentication, which CurrentCitizen did here
    return await routes.create_booking(booking, request, session, now, caller=None)


@router.get("/bookings/{booking_id}", summary="One booking I take part in")
def my_booking(booking_id: Reference, citizen: CurrentCitizen, session: SessionDep, now: Now) -> BookingPublic:
    booking = session.get(Booking, booking_id)
    if booking is None or citizen.subject not in (booking.subject, booking.partner_subject):
        raise domain.BookingNotFound(booking_id)
    session.rollback()  # end the read before get_booking's own transaction (it may lapse the booking)
    return domain.get_booking(session, booking_id, now=now)


@router.post("/bookings/{booking_id}/confirmations", summary="Confirm a marriage or divorce booking as the partner")
async def confirm(
    booking_id: Reference,
    body: MyConfirmation,
    citizen: CurrentCitizen,
    request: Request,
    session: SessionDep,
    now: Now,
) -> BookingPublic:
    # Not checked for party first: a marriage's partner joins only here, with the booker's code.
    confirmation = ConfirmationCreate(subject=citizen.subject, invitation_code=body.invitation_code)
    return await routes.confirm_booking(booking_id, confirmation, request, session, now, caller=None)
