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
from superapp_gateway.departments import DEPARTMENT_PROBLEMS, DepartmentClient, raise_for_department_problem
from superapp_gateway.dependencies import DepartmentsDep, HistoryDep, JourneyHistory, PolicyDep
from superapp_gateway.errors import BlindCourierOnly, BookingNotFound
from superapp_gateway.policy import GatewayPolicy

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
    return await look_up_free_slots(citizen.subject, params, departments, history)


@router.post(
    "/city-services/appointments/bookings",
    status_code=status.HTTP_201_CREATED,
    summary="Book an appointment (the super-app books for me; my partner confirms)",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, *DEPARTMENT_PROBLEMS),
)
async def book(
    body: BookingOrder, citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> dict[str, Any]:
    return await book_appointment(citizen.subject, body, policy, departments, history)


@router.get(
    "/city-services/appointments/bookings",
    summary="The bookings I take part in (as booker or partner)",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, *DEPARTMENT_PROBLEMS),
)
async def my_bookings(
    citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> list[dict[str, Any]]:
    return await look_up_bookings(citizen.subject, policy, departments, history)


@router.get(
    "/city-services/appointments/bookings/{booking_id}",
    summary="One booking I take part in",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, BookingNotFound, *DEPARTMENT_PROBLEMS),
)
async def my_booking(
    booking_id: Reference, citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep
) -> dict[str, Any]:
    return await booking_of(citizen.subject, booking_id, policy, departments)


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
    code = (body or Confirmation()).invitation_code
    return await confirm_booking(citizen.subject, booking_id, code, policy, departments, history)


# The journey's logic, shared by these routes and the phone's pages (superapp_gateway/pages/).


async def look_up_free_slots(
    subject: str, params: dict[str, str], departments: DepartmentClient, history: JourneyHistory
) -> list[dict[str, Any]]:
    """The bureau's free slots (``params``: its filters); the regime's history keeps what was asked."""
    # Not through the regime's department access: nobody is named, so the gateway may ask in both regimes.
    response = await departments.call(DEPARTMENT, "GET", "/slots", params=params)
    raise_for_department_problem(DEPARTMENT, response)
    slots: list[dict[str, Any]] = response.json()
    await history.record(subject, JOURNEY, "looked at free slots", {"asked": params, "found": len(slots)})
    return slots


async def book_appointment(
    subject: str, body: BookingOrder, policy: GatewayPolicy, departments: DepartmentClient, history: JourneyHistory
) -> dict[str, Any]:
    """Book for the citizen (the regime may refuse: ``BlindCourierOnly``); the bureau's refusal — the
    credit platform's joint punishment among them — is raised on, after the history keeps it."""
    order = {"slot_id": body.slot_id, "type": body.type.value, "subject": subject}
    try:
        booked: dict[str, Any] = await policy.departments.act(departments, DEPARTMENT, "POST", "/bookings", order)
    except Problem as refused:
        if refused.extensions.get("upstream") == DEPARTMENT and refused.status < 500:
            # the platform keeps the attempt too: which appointment, and why the bureau refused it
            await history.record(
                subject,
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
        subject,
        JOURNEY,
        f"booked a {body.type.value} appointment",
        {key: value for key, value in booked.items() if key != "invitation_code"},
    )
    return booked


async def look_up_bookings(
    subject: str, policy: GatewayPolicy, departments: DepartmentClient, history: JourneyHistory
) -> list[dict[str, Any]]:
    """The bookings the citizen takes part in, as booker or partner."""
    found: list[dict[str, Any]] = await policy.departments.read(
        departments, DEPARTMENT, "/bookings", params=_bookings_of(subject)
    )
    await history.record(subject, JOURNEY, "looked up my bookings", found)
    return found


async def booking_of(
    subject: str, booking_id: str, policy: GatewayPolicy, departments: DepartmentClient
) -> dict[str, Any]:
    """One booking the citizen takes part in; another's is ``BookingNotFound``."""
    # the bureau's GET /bookings/{id} does not ask who is reading: only the citizen's own are shown
    mine = await policy.departments.read(departments, DEPARTMENT, "/bookings", params=_bookings_of(subject))
    found: dict[str, Any] | None = next((booking for booking in mine if booking.get("id") == booking_id), None)
    if found is None:
        raise BookingNotFound(booking_id)
    return found


async def confirm_booking(
    subject: str,
    booking_id: str,
    invitation_code: str | None,
    policy: GatewayPolicy,
    departments: DepartmentClient,
    history: JourneyHistory,
) -> dict[str, Any]:
    """Confirm as the partner (the bureau refuses anyone else: ``not-the-partner``)."""
    confirmation = {"subject": subject, "invitation_code": invitation_code}
    confirmed: dict[str, Any] = await policy.departments.act(
        departments, DEPARTMENT, "POST", _booking_path(booking_id, "/confirmations"), confirmation
    )
    await history.record(subject, JOURNEY, f"confirmed a {confirmed.get('type')} appointment", confirmed)
    return confirmed
