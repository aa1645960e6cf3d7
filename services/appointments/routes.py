"""The bureau's service-to-service routes (the super-app gateway books on a citizen's behalf): thin,
each parses the request, calls one operation of ``domain`` and answers its result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from kernel.bounds import Day, Reference, RowId
from kernel.dependencies import NowDep, ServicesDep, SessionDep
from kernel.problems import problem_responses
from services.appointments import domain
from services.appointments.auth import AppointmentsBooker, AppointmentsReader
from services.appointments.dependencies import PolicyDep, SettingsDep
from services.appointments.errors import (
    BOOKING_CLOSED,
    BOOKING_PROBLEMS,
    CONFIRMATION_PROBLEMS,
    BookingChanged,
    BookingLapsed,
    BookingNotFound,
    NotAParty,
    OfficeNotFound,
    SlotFull,
    SlotInPast,
    SlotNotFound,
    WrongAppointmentType,
)
from services.appointments.models import (
    AppointmentType,
    BookingCreate,
    BookingCreated,
    BookingPublic,
    ConfirmationCreate,
    OfficePublic,
    PartyBooking,
    RescheduleRequest,
    SlotPublic,
    Subject,
)

router = APIRouter(tags=["appointments"])


@router.get("/offices", summary="The registration offices")
def list_offices(session: SessionDep, caller: AppointmentsReader) -> list[OfficePublic]:
    return [OfficePublic.model_validate(office) for office in domain.list_offices(session)]


@router.get(
    "/slots",
    summary="Future slots with free places, earliest first",
    responses=problem_responses(OfficeNotFound),
)
def list_free_slots(
    session: SessionDep,
    now: NowDep,
    caller: AppointmentsReader,
    office_id: Reference | None = None,
    appointment_type: Annotated[AppointmentType | None, Query(alias="type")] = None,
    on: Annotated[Day | None, Query(alias="date", description="A day in China Standard Time")] = None,
) -> list[SlotPublic]:
    return domain.free_slots(session, now=now, office_id=office_id, appointment_type=appointment_type, on=on)


@router.get("/slots/{slot_id}", summary="One slot and its free places", responses=problem_responses(SlotNotFound))
def get_slot(slot_id: RowId, session: SessionDep, now: NowDep, caller: AppointmentsReader) -> SlotPublic:
    return domain.get_slot(session, slot_id, now=now)


@router.post(
    "/bookings",
    status_code=status.HTTP_201_CREATED,
    summary="Book a place in a slot",
    responses=problem_responses(*BOOKING_PROBLEMS),
)
async def create_booking(
    body: BookingCreate,
    session: SessionDep,
    now: NowDep,
    policy: PolicyDep,
    services: ServicesDep,
    settings: SettingsDep,
    caller: AppointmentsBooker,
) -> BookingCreated:
    return await domain.create_booking(
        session, body, policy=policy, services=services, window=settings.confirmation_window, now=now
    )


@router.get("/bookings", summary="The bookings a citizen takes part in (as booker or partner)")
def list_bookings(
    subject: Annotated[Subject, Query()], session: SessionDep, now: NowDep, caller: AppointmentsReader
) -> list[PartyBooking]:
    return domain.bookings_of(session, subject, now=now)


@router.get("/bookings/{booking_id}", summary="One booking", responses=problem_responses(BookingNotFound))
def get_booking(booking_id: Reference, session: SessionDep, now: NowDep, caller: AppointmentsReader) -> BookingPublic:
    return domain.get_booking(session, booking_id, now=now)


@router.delete(
    "/bookings/{booking_id}",
    summary="Cancel a booking and free its place",
    responses=problem_responses(BookingNotFound, NotAParty, BookingLapsed, SlotInPast),
)
def cancel_booking(
    booking_id: Reference,
    session: SessionDep,
    now: NowDep,
    caller: AppointmentsBooker,
    subject: Annotated[Subject | None, Query(description="The acting citizen; must be a party when given")] = None,
) -> BookingPublic:
    return domain.cancel(session, booking_id, subject=subject, now=now)


@router.post(
    "/bookings/{booking_id}/reschedule",
    summary="Move a booking to another slot, atomically",
    responses=problem_responses(
        BookingNotFound,
        NotAParty,
        *BOOKING_CLOSED,
        SlotNotFound,
        WrongAppointmentType,
        SlotInPast,
        SlotFull,
        BookingChanged,
    ),
)
def reschedule_booking(
    booking_id: Reference,
    body: RescheduleRequest,
    session: SessionDep,
    now: NowDep,
    caller: AppointmentsBooker,
) -> BookingPublic:
    return domain.reschedule(session, booking_id, slot_id=body.slot_id, subject=body.subject, now=now)


@router.post(
    "/bookings/{booking_id}/confirmations",
    summary="The partner confirms a marriage or divorce booking",
    responses=problem_responses(*CONFIRMATION_PROBLEMS),
)
async def confirm_booking(
    booking_id: Reference,
    body: ConfirmationCreate,
    session: SessionDep,
    now: NowDep,
    policy: PolicyDep,
    services: ServicesDep,
    caller: AppointmentsBooker,
) -> BookingPublic:
    return await domain.confirm_booking(session, booking_id, body, policy=policy, services=services, now=now)
