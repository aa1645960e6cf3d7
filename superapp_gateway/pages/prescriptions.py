"""处方 Prescriptions on the platform's phone: an online consultation (the hospital's online doctor
prescribes), paying from the wallet, the pharmacy dispensing, the courier delivering — the super-app
ordering each for the citizen and keeping it all.

What each page shows comes from the journey's own functions (superapp_gateway/journeys/prescriptions.py)
and the wallet's; a form sent twice acts once (``once``; the payment by the wallet's own key).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from kernel.bounds import Reference
from kernel.dependencies import NowDep, SessionDep, idempotency_key
from kernel.problems import InvalidRequest, Problem
from superapp_gateway import wallet
from superapp_gateway.auth import CurrentSession
from superapp_gateway.department_payments import Cashier
from superapp_gateway.dependencies import GatewayState, HistoryDep, StateDep
from superapp_gateway.journeys import id_card as id_card_journey
from superapp_gateway.journeys import prescriptions as journey
from superapp_gateway.pages.forms import read_form, token_for
from superapp_gateway.pages.once import form_key_of, new_form_key
from superapp_gateway.pages.rendering import PageRoute, page, see_other
from superapp_gateway.pages.views import balance_of
from superapp_gateway.wallet_routes import pay_from_wallet

router = APIRouter(prefix="/prescriptions", route_class=PageRoute)
HOME = "/app/prescriptions"
MAX_ADDRESS = 500


def prescription_link(prescription_id: str) -> str:
    return f"{HOME}/{prescription_id}"


def _to_deliver(rx: dict[str, Any]) -> bool:
    return rx.get("status") == "dispensed" and not rx.get("parcel_id")


async def _known_address(state: GatewayState, subject: str, now: datetime) -> str:
    """The address on the ID card the platform hosts for the citizen: the delivery form comes filled in."""
    try:
        card = await id_card_journey.id_card_claims(state, subject, now)
    except Problem:  # no card to read (the identity token lapsed): the citizen types it
        return ""
    return str(card.get("address", ""))


@router.get("")
async def prescriptions(
    request: Request, state: StateDep, db: SessionDep, now: NowDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    found = await journey.look_up_prescriptions(citizen.subject, state.policy, state.department_client(), history)
    shown = {
        "prescriptions": sorted(found, key=lambda rx: str(rx.get("issued_at", "")), reverse=True),
        "balance_cents": await run_in_threadpool(balance_of, state, db, citizen.subject, now),
        "form_token": token_for(request, state.settings),
        "form_key": new_form_key(),
    }
    return page(state.settings, "prescriptions.html", shown)


@router.post("/consultations")
async def consultation(request: Request, state: StateDep, citizen: CurrentSession, history: HistoryDep) -> Response:
    form = await read_form(request, state.settings)

    async def act() -> str:
        issued = await journey.consult(citizen.subject, state.policy, state.department_client(), history)
        return prescription_link(str(issued["id"]))

    return see_other(state.settings, await state.phone_forms.once(citizen.subject, form_key_of(form), act))


@router.get("/{prescription_id}")
async def prescription(
    prescription_id: Reference,
    request: Request,
    state: StateDep,
    db: SessionDep,
    now: NowDep,
    citizen: CurrentSession,
) -> Response:
    rx = await journey.prescription_of(citizen.subject, prescription_id, state.policy, state.department_client())
    shown: dict[str, Any] = {
        "rx": rx,
        "balance_cents": await run_in_threadpool(balance_of, state, db, citizen.subject, now),
        "pharmacy": journey.DEFAULT_PHARMACY,
        "address": await _known_address(state, citizen.subject, now) if _to_deliver(rx) else "",
        "form_token": token_for(request, state.settings),
        "form_key": new_form_key(),
    }
    return page(state.settings, "prescription.html", shown)


@router.post("/{prescription_id}/pay")
async def pay(
    prescription_id: Reference, request: Request, state: StateDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    form = await read_form(request, state.settings)
    key = idempotency_key(form_key_of(form))
    # the amount the hospital asks for, never one the form says; another's prescription is "not found"
    rx = await journey.prescription_of(citizen.subject, prescription_id, state.policy, state.department_client())
    order = wallet.PaymentOrder(
        payee=journey.DEPARTMENT, reference=prescription_id, amount_cents=int(rx.get("amount_cents", 0))
    )
    await pay_from_wallet(Cashier.of(state), history, citizen.subject, order, key)
    return see_other(state.settings, prescription_link(prescription_id))


@router.post("/{prescription_id}/dispensation")
async def dispensation(
    prescription_id: Reference, request: Request, state: StateDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    form = await read_form(request, state.settings)

    async def act() -> str:
        await journey.dispense(
            citizen.subject, prescription_id, journey.DEFAULT_PHARMACY, state.policy, state.department_client(), history
        )
        return prescription_link(prescription_id)

    return see_other(state.settings, await state.phone_forms.once(citizen.subject, form_key_of(form), act))


@router.post("/{prescription_id}/delivery")
async def delivery(
    prescription_id: Reference, request: Request, state: StateDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    form = await read_form(request, state.settings)
    address = form.get("address", "").strip()
    if not 0 < len(address) <= MAX_ADDRESS:
        raise InvalidRequest("Write the address the courier brings the medicine to.")

    async def act() -> str:
        await journey.deliver(
            citizen.subject, prescription_id, address, state.policy, state.department_client(), history
        )
        return prescription_link(prescription_id)

    return see_other(state.settings, await state.phone_forms.once(citizen.subject, form_key_of(form), act))
