"""The citizen's own API: their civil-registry bookings, with the token their app holds for the
bureau (``kernel.citizens``), reached directly or through the super-app's blind courier
(``kernel.courier``).

The citizen is the token's ``sub`` (the subject the civil-registry sector knows them by), so the
bodies carry no ``subject``: a citizen books and confirms only as themselves. Booking and
confirming run the service routes' own steps (``domain.create_booking``, ``domain.confirm_booking``:
the bureau's checks, then the regime's admission policy, then the write), so the two doors cannot
drift apart — in the platform regime the credit blacklist applies here too. A booking the citizen
takes no part in is "not found", as an unknown one is.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from kernel.bounds import Reference, RowId
from kernel.citizens import CurrentCitizen
from kernel.dependencies import NowDep, ServicesDep, SessionDep
from kernel.problems import problem_responses
from services.appointments import domain
from services.appointments.dependencies import PolicyDep, SettingsDep
from services.appointments.errors import BOOKING_PROBLEMS, CONFIRMATION_PROBLEMS, BookingNotFound
from services.appointments.models import (
    AppointmentType,
    BookingCreate,
    BookingCreated,
    BookingPublic,
    ConfirmationCreate,
    PartyBooking,
)

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
def my_bookings(citizen: CurrentCitizen, session: SessionDep, now: NowDep) -> list[PartyBooking]:
    return domain.bookings_of(session, citizen.subject, now=now)


@router.post(
    "/bookings",
    status_code=status.HTTP_201_CREATED,
    summary="Book a place in a slot, as myself",
    responses=problem_responses(*BOOKING_PROBLEMS),
)
async def book(
    body: MyBookingCreate,
    citizen: CurrentCitizen,
    session: SessionDep,
    now: NowDep,
    policy: PolicyDep,
    services: ServicesDep,
    settings: SettingsDep,
) -> BookingCreated:
    booking = BookingCreate(slot_id=body.slot_id, type=body.type, subject=citizen.subject)
    return await domain.create_booking(
        session, booking, policy=policy, services=services, window=settings.confirmation_window, now=now
    )


@router.get(
    "/bookings/{booking_id}", summary="One booking I take part in", responses=problem_responses(BookingNotFound)
)
def my_booking(booking_id: Reference, citizen: CurrentCitizen, session: SessionDep, now: NowDep) -> BookingPublic:
    return domain.party_booking(session, booking_id, citizen.subject, now=now)


@router.post(
    "/bookings/{booking_id}/confirmations",
    summary="Confirm a marriage or divorce booking as the partner",
    responses=problem_responses(*CONFIRMATION_PROBLEMS),
)
async def confirm(
    booking_id: Reference,
    body: MyConfirmation,
    citizen: CurrentCitizen,
    session: SessionDep,
    now: NowDep,
    policy: PolicyDep,
    services: ServicesDep,
) -> BookingPublic:
    # Not checked for party first: a marriage's partner joins only here, with the booker's code.
    confirmation = ConfirmationCreate(subject=citizen.subject, invitation_code=body.invitation_code)
    return await domain.confirm_booking(session, booking_id, confirmation, policy=policy, services=services, now=now)
