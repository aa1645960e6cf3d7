"""婚姻登记 Marriage and divorce appointments on the platform's phone: the free slots, booking, the
partner's confirmation on their own login, and the bureau's refusal when the credit platform
blacklists a spouse — shown with the platform's reasons, as the platform shows them.

What each page shows comes from the journey's own functions (superapp_gateway/journeys/appointments.py),
the ones its JSON routes use; a form sent twice acts once (``once``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from kernel.bounds import Reference
from kernel.problems import InvalidRequest, Problem, kind_of
from superapp_gateway.auth import CurrentSession
from superapp_gateway.dependencies import HistoryDep, StateDep
from superapp_gateway.journeys import appointments as journey
from superapp_gateway.pages.forms import read_form, token_for
from superapp_gateway.pages.once import form_key_of, new_form_key
from superapp_gateway.pages.rendering import PageRoute, page, see_other

router = APIRouter(prefix="/appointments", route_class=PageRoute)
HOME = "/app/appointments"
# the appointments a couple books on the phone (a certificate copy needs no partner)
OFFERED = (journey.AppointmentType.DIVORCE, journey.AppointmentType.MARRIAGE)
REFUSED_BY_THE_BLACKLIST = "joint-punishment"
# what the platform calls the credit platform's record kinds and the parties (services/credit)
REASON_LABELS = {
    "overdue-fine": ("逾期未缴交通罚款", "Overdue traffic fine"),
    "unpaid-court-judgment": ("失信被执行人", "Unpaid court judgment"),
}
PARTY_LABELS = {"booker": ("预约人", "the booker"), "partner": ("配偶", "the partner")}
SOURCE_LABELS = {"fines": ("交通管理部门", "the traffic police"), "courts": ("人民法院", "the courts")}


def booking_link(booking_id: str) -> str:
    return f"{HOME}/bookings/{booking_id}"


def _offered(kind: str | None) -> journey.AppointmentType:
    try:
        chosen = journey.AppointmentType(kind or journey.AppointmentType.DIVORCE)
    except ValueError:
        raise InvalidRequest("The phone books marriage and divorce appointments.") from None
    if chosen not in OFFERED:
        raise InvalidRequest("The phone books marriage and divorce appointments.")
    return chosen


def _order(form: dict[str, str]) -> journey.BookingOrder:
    try:
        return journey.BookingOrder(slot_id=int(form.get("slot_id", "")), type=_offered(form.get("type")))
    except ValueError:
        raise InvalidRequest("Choose one of the free slots.") from None


def refusal(problem: Problem) -> dict[str, Any]:
    """The bureau's refusal, with the credit platform's reasons as the platform shows them."""
    reasons = problem.extensions.get("reasons")
    return {
        "detail": problem.detail,
        "reasons": [
            reason
            | {
                "label": _label(REASON_LABELS, reason.get("kind")),
                "whom": _label(PARTY_LABELS, reason.get("party")),
                "reporter": _label(SOURCE_LABELS, reason.get("source")),
            }
            for reason in (reasons if isinstance(reasons, list) else [])
            if isinstance(reason, dict)
        ],
    }


def _label(labels: dict[str, tuple[str, str]], value: object) -> tuple[str, str]:
    """Chinese and English for a value the platform sent; the value itself for one it has no words for."""
    return labels.get(str(value), (str(value), str(value)))


@router.get("")
async def appointments(
    request: Request,
    state: StateDep,
    citizen: CurrentSession,
    history: HistoryDep,
    kind: Annotated[str | None, Query(alias="type", max_length=20)] = None,
) -> Response:
    chosen = _offered(kind)
    departments = state.department_client()
    mine = await journey.look_up_bookings(citizen.subject, state.policy, departments, history)
    slots = await journey.look_up_free_slots(citizen.subject, {"type": chosen.value}, departments, history)
    shown = {
        "bookings": mine,
        "slots": [slot for slot in slots if slot.get("free", 0) > 0],
        "chosen": chosen.value,
        "offered": OFFERED,
        "form_token": token_for(request, state.settings),
        "form_key": new_form_key(),
    }
    return page(state.settings, "appointments.html", shown)


@router.post("/book")
async def book(request: Request, state: StateDep, citizen: CurrentSession, history: HistoryDep) -> Response:
    form = await read_form(request, state.settings)
    order = _order(form)
    booked: dict[str, Any] = {}

    async def act() -> str:
        booked.update(
            await journey.book_appointment(citizen.subject, order, state.policy, state.department_client(), history)
        )
        return str(booked["id"])

    try:
        booking_id = await state.phone_forms.once(citizen.subject, form_key_of(form), act)
    except Problem as refused:
        if kind_of(refused.type) != REFUSED_BY_THE_BLACKLIST:
            raise
        # the platform's own answer, shown as its page (a page, not an error: the app worked, the bureau said no)
        return page(state.settings, "refused.html", refusal(refused))
    if not booked:  # the same form again: the booking it made (its marriage code was shown once, then)
        booked = await journey.booking_of(citizen.subject, booking_id, state.policy, state.department_client())
    return page(state.settings, "booked.html", {"booking": booked})


@router.get("/bookings/{booking_id}")
async def booking(booking_id: Reference, request: Request, state: StateDep, citizen: CurrentSession) -> Response:
    found = await journey.booking_of(citizen.subject, booking_id, state.policy, state.department_client())
    shown = {"booking": found, "form_token": token_for(request, state.settings), "form_key": new_form_key()}
    return page(state.settings, "booking.html", shown)


@router.post("/bookings/{booking_id}/confirm")
async def confirm(
    booking_id: Reference, request: Request, state: StateDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    form = await read_form(request, state.settings)
    code = form.get("invitation_code", "").strip()[:40] or None
    departments = state.department_client()

    async def act() -> str:
        # only a booking the citizen takes part in (another's is "not found", not asked about)
        await journey.booking_of(citizen.subject, booking_id, state.policy, departments)
        await journey.confirm_booking(citizen.subject, booking_id, code, state.policy, departments, history)
        return booking_link(booking_id)

    return see_other(state.settings, await state.phone_forms.once(citizen.subject, form_key_of(form), act))
