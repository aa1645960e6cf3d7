from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from kernel.bounds import Day, Reference, RowId
from kernel.dependencies import SessionDep
from kernel.tokens import caller_with
from services.appointments import domain
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
from services.appointments.policy import AdmissionPolicy, Party
from services.appointments.settings import Settings

router = APIRouter(tags=["appointments"])


def utc_now() -> datetime:
    """The bureau's clock, a dependency so a test (or a workshop) can move it past a confirmation window."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(utc_now)]
Reader = caller_with("appointments:read")
Booker = caller_with("appointments:book")


def _policy(request: Request) -> AdmissionPolicy:
    return request.app.state.admission_policy


def _window(request: Request) -> timedelta:
    settings: Settings = request.app.state.settings
    return timedelta(minutes=settings.confirmation_window_minutes)


@router.get("/offices", summary="The registration offices")
def list_offices(session: SessionDep, caller: Reader) -> list[OfficePublic]:
    return [OfficePublic.model_validate(office) for office in domain.list_offices(session)]


@router.get("/slots", summary="Future slots with free places, earliest first")
def list_free_slots(
    session: SessionDep,
    now: Now,
    caller: Reader,
    office_id: Reference | None = None,
    appointment_type: Annotated[AppointmentType | None, Query(alias="type")] = None,
    on: Annotated[Day | None, Query(alias="date", description="A day in China Standard Time")] = None,
) -> list[SlotPublic]:
    return domain.free_slots(session, now=now, office_id=office_id, appointment_type=appointment_type, on=on)


@router.get("/slots/{slot_id}", summary="One slot and its free places")
def get_slot(slot_id: RowId, session: SessionDep, now: Now, caller: Reader) -> SlotPublic:
    return domain.get_slot(session, slot_id, now=now)


@router.post("/bookings", status_code=status.HTTP_201_CREATED, summary="Book a place in a slot")
async def create_booking(
    body: BookingCreate,
    request: Request,
    session: SessionDep,
    now: Now,
    caller: Booker,
) -> BookingCreated:
    # 1. everything the bureau can check itself (404, 409, 422) — before anyone else is asked
    plan = await run_in_threadpool(domain.plan_booking, session, body, window=_window(request), now=now)
    # 2. the regime's admission policy (platform: the credit-sharing platform, for both partners if known)
    parties = [Party("booker", plan.subject)] + ([Party("partner", plan.partner)] if plan.partner else [])
    await _policy(request).admit(request.app.state.services, parties)
    # 3. take the place and write the booking, in one transaction
    return await run_in_threadpool(domain.book, session, plan, now=now)


@router.get("/bookings", summary="The bookings a citizen takes part in (as booker or partner)")
def list_bookings(
    subject: Annotated[Subject, Query()], session: SessionDep, now: Now, caller: Reader
) -> list[PartyBooking]:
    return domain.bookings_of(session, subject, now=now)


@router.get("/bookings/{booking_id}", summary="One booking")
def get_booking(booking_id: Reference, session: SessionDep, now: Now, caller: Reader) -> BookingPublic:
    return domain.get_booking(session, booking_id, now=now)


@router.delete("/bookings/{booking_id}", summary="Cancel a booking and free its place")
def cancel_booking(
    booking_id: Reference,
    session: SessionDep,
    now: Now,
    caller: Booker,
    subject: Annotated[Subject | None, Query(description="The acting citizen; must be a party when given")] = None,
) -> BookingPublic:
    return domain.cancel(session, booking_id, subject=subject, now=now)


@router.post("/bookings/{booking_id}/reschedule", summary="Move a booking to another slot, atomically")
def reschedule_booking(
    booking_id: Reference,
    body: RescheduleRequest,
    session: SessionDep,
    now: Now,
    caller: Booker,
) -> BookingPublic:
    return domain.reschedule(session, booking_id, slot_id=body.slot_id, subject=body.subject, now=now)


@router.post("/bookings/{booking_id}/confirmations", summary="The partner confirms a marriage or divorce booking")
async def confirm_booking(
    booking_id: Reference,
    body: ConfirmationCreate,
    request: Request,
    session: SessionDep,
    now: Now,
    caller: Booker,
) -> BookingPublic:
    plan = await run_in_threadpool(domain.plan_confirmation, session, booking_id, body, now=now)
    if plan is not None and plan.joins:
        # a marriage partner becomes known only now, so the policy sees them only now
        await _policy(request).admit(request.app.state.services, [Party("partner", plan.subject)])
    return await run_in_threadpool(domain.confirm, session, plan, booking_id, now=now)
