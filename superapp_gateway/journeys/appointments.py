"""Journey 2, book a marriage or divorce appointment: the super-app's routes (docs/journeys.md).

Free slots name no citizen, so the super-app lists them in both regimes (with its own service token,
``appointments:read``; the platform's history keeps which type the citizen looked at, the rights
regime's keeps nothing).

On the platform the super-app books and confirms for the session's resident ID (``POST /bookings``,
``POST /bookings/{id}/confirmations``, naming the session's subject in the body), and keeps every step —
the appointment type, and a refusal with the credit platform's reasons — in its history. The
bureau asks the credit platform about both spouses before a divorce is booked: a blacklisted
citizen (or spouse) gets the bureau's 403 ``joint-punishment`` with the platform's reasons.

In the rights regime the booking routes answer 403 ``blind-courier-only``: each spouse's app books
and confirms through the courier (``POST /me/bookings``, ``POST /me/bookings/{id}/confirmations``
in sealed envelopes), so the super-app never learns who wants to marry or divorce.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from kernel.bounds import Day, Reference, RowId
from kernel.problems import Problem, problem_responses
from superapp_gateway.auth import CITIZEN_PROBLEMS, CurrentSession
from superapp_gateway.departments import DEPARTMENT_PROBLEMS, raise_for_department_problem
from superapp_gateway.dependencies import DepartmentsDep, HistoryDep, PolicyDep
from superapp_gateway.errors import BlindCourierOnly, BookingNotFound

router = APIRouter(tags=["city services: marriage and divorce appointments"])
DEPARTMENT = "appointments"
JOURNEY = "appointments"


# The appointment types the civil registry offers, as its API names them: the gateway declares the
# shapes it reads from a department itself (tests/superapp_gateway/test_department_shapes.py checks
# that they agree).
class AppointmentType(StrEnum):
    MARRIAGE = "marriage"
    DIVORCE = "divorce"
    CERTIFICATE_COPY = "certificate-copy"


class BookingOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")  # no "subject": the super-app books for the session only

    slot_id: RowId
    type: AppointmentType


class Confirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invitation_code: str | None = Field(default=None, max_length=40, description="Marriage: the booker's code.")


def _booking_path(booking_id: Reference, tail: str = "") -> str:
    return f"/bookings/{quote(booking_id, safe='')}{tail}"


def _bookings_of(subject: str) -> dict[str, str]:
    """The query that lists the bookings the citizen the bureau knows as ``subject`` takes part in."""
    return {"subject": subject}


@router.get(
    "/city-services/appointments/slots",
    summary="Free slots (public: they name no citizen)",
    responses=problem_responses(*CITIZEN_PROBLEMS, *DEPARTMENT_PROBLEMS),
)
async def free_slots(
    citizen: CurrentSession,
    departments: DepartmentsDep,
    history: HistoryDep,
    appointment_type: Annotated[AppointmentType | None, Query(alias="type")] = None,
    on: Annotated[Day | None, Query(alias="date", description="A day in China Standard Time")] = None,
    office_id: Reference | None = None,
) -> list[dict[str, Any]]:
    params = {
        name: str(value)
        for name, value in (("type", appointment_type), ("date", on), ("office_id", office_id))
        if value is not None
    }
    # Not through the regime's department access: nobody is named, so the gateway may ask in both regimes.
    response = await departments.call(DEPARTMENT, "GET", "/slots", params=params)
    raise_for_department_problem(DEPARTMENT, response)
    slots: list[dict[str, Any]] = response.json()
    await history.record(citizen.subject, JOURNEY, "looked at free slots", {"asked": params, "found": len(slots)})
    return slots


@router.post(
    "/city-services/appointments/bookings",
    status_code=status.HTTP_201_CREATED,
    summary="Book an appointment (the super-app books for me; my partner confirms)",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, *DEPARTMENT_PROBLEMS),
)
async def book(
    body: BookingOrder, citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> dict[str, Any]:
    order = {"slot_id": body.slot_id, "type": body.type.value, "subject": citizen.subject}
    try:
        booked: dict[str, Any] = await policy.departments.act(departments, DEPARTMENT, "POST", "/bookings", order)
    except Problem as refused:
        if refused.extensions.get("upstream") == DEPARTMENT and refused.status < 500:
            # the platform keeps the attempt too: which appointment, and why the bureau refused it
            await history.record(
                citizen.subject,
                JOURNEY,
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
    await history.record(
        citizen.subject,
        JOURNEY,
        f"booked a {body.type.value} appointment",
        {key: value for key, value in booked.items() if key != "invitation_code"},
    )
    return booked


@router.get(
    "/city-services/appointments/bookings",
    summary="The bookings I take part in (as booker or partner)",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, *DEPARTMENT_PROBLEMS),
)
async def my_bookings(
    citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await policy.departments.read(
        departments, DEPARTMENT, "/bookings", params=_bookings_of(citizen.subject)
    )
    await history.record(citizen.subject, JOURNEY, "looked up my bookings", found)
    return found


@router.get(
    "/city-services/appointments/bookings/{booking_id}",
    summary="One booking I take part in",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, BookingNotFound, *DEPARTMENT_PROBLEMS),
)
async def my_booking(
    booking_id: Reference, citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep
) -> dict[str, Any]:
    # the bureau's GET /bookings/{id} does not ask who is reading: only the citizen's own are shown
    mine = await policy.departments.read(departments, DEPARTMENT, "/bookings", params=_bookings_of(citizen.subject))
    found: dict[str, Any] | None = next((booking for booking in mine if booking.get("id") == booking_id), None)
    if found is None:
        raise BookingNotFound(booking_id)
    return found


@router.post(
    "/city-services/appointments/bookings/{booking_id}/confirmations",
    summary="Confirm a marriage or divorce booking as the partner",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, *DEPARTMENT_PROBLEMS),
)
async def confirm(
    booking_id: Reference,
    citizen: CurrentSession,
    policy: PolicyDep,
    departments: DepartmentsDep,
    history: HistoryDep,
    body: Confirmation | None = None,
) -> dict[str, Any]:
    confirmation = {"subject": citizen.subject, "invitation_code": (body or Confirmation()).invitation_code}
    confirmed: dict[str, Any] = await policy.departments.act(
        departments, DEPARTMENT, "POST", _booking_path(booking_id, "/confirmations"), confirmation
    )
    await history.record(citizen.subject, JOURNEY, f"confirmed a {confirmed.get('type')} appointment", confirmed)
    return confirmed
