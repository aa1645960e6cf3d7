"""Journey 2, book a marriage or divorce appointment: the super-app's routes (docs/journeys.md).

Free slots name no citizen, so the super-app lists them in both regimes (with its own service token,
``appointments:read``; the platform's history keeps which type the citizen looked at, the rights
regime's keeps nothing).

On the platform the super-app books and confirms for the session's resident ID (``POST /bookings``,
``POST /bookings/{id}/confirmations`` with subject ``"{subject}"``), and keeps every step —
the appointment type, and a refusal with the credit platform's reasons — in its history. The
bureau asks the credit platform about both spouses before a divorce is booked: a blacklisted
citizen (or spouse) gets the bureau's 403 ``joint-punishment`` with the platform's reasons.

In the rights regime the booking routes answer 403 ``blind-courier-only``: each spouse's app books
and confirms through the courier (``POST /me/bookings``, ``POST /me/bookings/{id}/confirmations``
in sealed envelopes), so the super-app never learns who wants to marry or divorce.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from kernel.bounds import Day, Reference, RowId
from kernel.problems import Problem
from services.appointments.models import AppointmentType
from superapp_gateway.departments import bounded_call, raise_for_department_problem
from superapp_gateway.sessions import CurrentSession

router = APIRouter(tags=["city services: marriage and divorce appointments"])
DEPARTMENT = "appointments"
JOURNEY = "appointments"


class BookingOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")  # no "subject": the super-app books for the session only

    slot_id: RowId
    type: AppointmentType


class Confirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invitation_code: str | None = Field(default=None, max_length=40, description="Marriage: the booker's code.")


async def _record(request: Request, subject: str, event: str, details: object) -> None:
    app = request.app
    await run_in_threadpool(app.state.policy.history.record, app, subject, JOURNEY, event, details)


def _booking_path(booking_id: Reference, tail: str = "") -> str:
    return f"/bookings/{quote(booking_id, safe='')}{tail}"


@router.get("/city-services/appointments/slots", summary="Free slots (public: they name no citizen)")
async def free_slots(
    request: Request,
    citizen: CurrentSession,
    appointment_type: Annotated[AppointmentType | None, Query(alias="type")] = None,
    on: Annotated[Day | None, Query(alias="date", description="A day in China Standard Time")] = None,
    office_id: Reference | None = None,
) -> list[dict]:
    app = request.app
    params = {
        name: str(value)
        for name, value in (("type", appointment_type), ("date", on), ("office_id", office_id))
        if value is not None
    }
    # Not through the regime's department access: nobody is named, so the gateway may ask in both regimes.
    response = await bounded_call(app, DEPARTMENT, "GET", "/slots", params=params)
    raise_for_department_problem(DEPARTMENT, response)
    slots = response.json()
    await _record(request, citizen.subject, "looked at free slots", {"asked": params, "found": len(slots)})
    return slots


@router.post(
    "/city-services/appointments/bookings",
    status_code=status.HTTP_201_CREATED,
    summary="Book an appointment (the super-app books for me; my partner confirms)",
)
async def book(body: BookingOrder, request: Request, citizen: CurrentSession) -> dict:
    app = request.app
    order = {"slot_id": body.slot_id, "type": body.type.value, "subject": "{subject}"}
    try:
        booked = await app.state.policy.departments.act(app, citizen.subject, DEPARTMENT, "POST", "/bookings", order)
    except Problem as refused:
        if refused.extensions.get("upstream") == DEPARTMENT and refused.status < 500:
            # the platform keeps the attempt too: which appointment, and why the bureau refused it
            await _record(
                request,
                citizen.subject,
                "booking refused",
                {
                    "slot_id": body.slot_id,
                    "type": body.type.value,
                    "problem": refused.type,
                    "detail": refused.detail,
                    **{k: v for k, v in refused.extensions.items() if k != "upstream"},
                },
            )
        raise
    # the marriage's invitation code is shown to the citizen once and not kept, even here
    await _record(
        request,
        citizen.subject,
        f"booked a {body.type.value} appointment",
        {key: value for key, value in booked.items() if key != "invitation_code"},
    )
    return booked


@router.get("/city-services/appointments/bookings", summary="The bookings I take part in (as booker or partner)")
async def my_bookings(request: Request, citizen: CurrentSession) -> list[dict]:
    app = request.app
    found = await app.state.policy.departments.read(app, citizen.subject, DEPARTMENT, "/bookings?subject={subject}")
    await _record(request, citizen.subject, "looked up my bookings", found)
    return found


@router.get("/city-services/appointments/bookings/{booking_id}", summary="One booking I take part in")
async def my_booking(booking_id: Reference, request: Request, citizen: CurrentSession) -> dict:
    app = request.app
    # the bureau's GET /bookings/{id} does not ask who is reading: only the citizen's own are shown
    mine = await app.state.policy.departments.read(app, citizen.subject, DEPARTMENT, "/bookings?subject={subject}")
    found = next((booking for booking in mine if booking.get("id") == booking_id), None)
    if found is None:
        raise Problem(404, f"You take part in no booking {booking_id!r}.", kind="booking-not-found")
    return found


@router.post(
    "/city-services/appointments/bookings/{booking_id}/confirmations",
    summary="Confirm a marriage or divorce booking as the partner",
)
async def confirm(
    booking_id: Reference, request: Request, citizen: CurrentSession, body: Confirmation | None = None
) -> dict:
    app = request.app
    confirmation = {"subject": "{subject}", "invitation_code": (body or Confirmation()).invitation_code}
    confirmed = await app.state.policy.departments.act(
        app, citizen.subject, DEPARTMENT, "POST", _booking_path(booking_id, "/confirmations"), confirmation
    )
    await _record(request, citizen.subject, f"confirmed a {confirmed.get('type')} appointment", confirmed)
    return confirmed
