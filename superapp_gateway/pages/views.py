"""What each of the phone's pages shows, from the gateway's own functions (the journeys' and the
wallet's, as the JSON routes use them): plain functions, no HTTP of their own."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from kernel.dependencies import idempotency_key
from kernel.personas import Persona, UnknownPersona, by_handle
from kernel.problems import InvalidRequest
from superapp_gateway import wallet
from superapp_gateway.department_payments import Cashier
from superapp_gateway.dependencies import GatewayState, JourneyHistory
from superapp_gateway.errors import AgreementRequired
from superapp_gateway.journeys import fines as fines_journey
from superapp_gateway.models import CitizenSession, WalletPayment
from superapp_gateway.pages.problems import AgreementNotTicked
from superapp_gateway.pages.rendering import HOME
from superapp_gateway.wallet_routes import pay_from_wallet, wallet_summary


@dataclass(frozen=True)
class Tile:
    """One tile of the "城市服务 City Services" grid."""

    slug: str
    chinese: str
    english: str
    glyph: str  # one character on the tile's icon (no icon font: nothing loaded from elsewhere)
    href: str


TILES = (
    Tile("fines", "交通违法", "Traffic fines", "罚", "/app/fines"),
    Tile("appointments", "婚姻登记", "Marriage / divorce appointments", "婚", "/app/appointments"),
    Tile("prescriptions", "处方", "Prescriptions", "药", "/app/prescriptions"),
    Tile("id-card", "电子身份证", "ID card", "证", "/app/id-card"),
    Tile("my-data", "我的数据", "My data", "数", "/app/my-data"),
)


def persona_of(handle: str | None) -> Persona | None:
    """The demo persona the stage asked for (``?persona=``), if any; ``UnknownPersona`` for another name."""
    if handle is None or handle == "":
        return None
    try:
        return by_handle(handle)
    except KeyError:
        raise UnknownPersona() from None


def login_link(persona: Persona | None) -> str:
    """The gateway's login, coming back to the home screen (with the persona's name pre-filled)."""
    back = HOME + (f"?{urlencode({'persona': persona.handle})}" if persona else "")
    return "/login?" + urlencode({"return_to": back} | ({"login_hint": persona.handle} if persona else {}))


def claims_of(citizen: CitizenSession) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(citizen.claims)
    return claims


def _agreed(state: GatewayState, db: Session, subject: str) -> bool:
    try:
        state.policy.sign_up.require_agreed(db, subject)
    except AgreementRequired:
        return False
    return True


def balance_of(state: GatewayState, db: Session, subject: str, now: datetime) -> int:
    return wallet_summary(db, subject, now, state.settings.wallet_starting_balance_cents).balance_cents


def home(
    state: GatewayState, db: Session, citizen: CitizenSession | None, persona: Persona | None, now: datetime
) -> dict[str, Any]:
    """The home screen: a login button; after login the grid, with the agreement sheet over it until agreed."""
    if citizen is not None and persona is not None and claims_of(citizen).get("resident_id") != persona.resident_id:
        # the stage switched persona in this browser: the phone offers to log in as the one asked for
        return {
            "citizen": None,
            "persona": persona,
            "logged_in_as": claims_of(citizen).get("name", ""),
            "login_link": login_link(persona),
        }
    if citizen is None:
        return {"citizen": None, "persona": persona, "login_link": login_link(persona), "tiles": TILES}
    agreed = _agreed(state, db, citizen.subject)
    return {
        "citizen": claims_of(citizen),
        "persona": persona,
        "tiles": TILES,
        "agreement": None if agreed else state.policy.sign_up.agreement(db, citizen.subject),
        "balance_cents": balance_of(state, db, citizen.subject, now) if agreed else None,
    }


def agree(state: GatewayState, db: Session, citizen: CitizenSession, form: dict[str, Any], now: datetime) -> None:
    """The sheet's "同意 Agree": the box must still be ticked (it comes ticked; unticking it is saying no)."""
    if form.get("agree") != "yes":
        raise AgreementNotTicked()
    state.policy.sign_up.accept(db, citizen.subject, str(form.get("version", "")), now)


async def fines(
    state: GatewayState, db: Session, citizen: CitizenSession, history: JourneyHistory, now: datetime
) -> dict[str, Any]:
    found = await fines_journey.look_up_fines(citizen.subject, state.policy, state.department_client(), history)
    return {
        "fines": found,
        "balance_cents": await run_in_threadpool(balance_of, state, db, citizen.subject, now),
        # one key per page shown: the same form sent twice is one payment (the wallet's Idempotency-Key)
        "payment_key": f"app-{secrets.token_urlsafe(18)}",
    }


def _amount(value: object) -> int:
    try:
        amount = int(str(value))
    except ValueError:
        amount = 0
    if not 0 < amount <= 100_000_000:
        raise InvalidRequest("The amount must be a whole number of fen, more than none.")
    return amount


async def pay_fine(
    state: GatewayState, citizen: CitizenSession, history: JourneyHistory, fine_id: int, form: dict[str, Any]
) -> WalletPayment:
    """Pay the fine from the wallet; the form's key makes a second send of it the same payment."""
    key = idempotency_key(str(form.get("payment_key", "")) or None)
    order = wallet.PaymentOrder(
        payee=fines_journey.DEPARTMENT, reference=str(fine_id), amount_cents=_amount(form.get("amount_cents"))
    )
    payment, _ = await pay_from_wallet(Cashier.of(state), history, citizen.subject, order, key)
    return payment


async def receipt(
    state: GatewayState, db: Session, citizen: CitizenSession, history: JourneyHistory, fine_id: int, now: datetime
) -> dict[str, Any]:
    fine, paid = await fines_journey.fine_and_receipt(
        citizen.subject, fine_id, state.policy, state.department_client(), history
    )
    return {
        "fine": fine,
        "receipt": paid,
        # what the wallet's signed confirmation told the traffic police about who paid
        "payer": state.policy.payer_for(citizen.subject, str(paid.get("payment_id", ""))),
        "balance_cents": await run_in_threadpool(balance_of, state, db, citizen.subject, now),
    }


async def my_data(state: GatewayState, citizen: CitizenSession, history: JourneyHistory) -> dict[str, Any]:
    """What the platform chooses to show of what it keeps: the profile, and a count of the journey
    records (the records themselves, and who they are shared with, are not on this page)."""
    journeys = await history.journeys(citizen.subject)  # counted by the database: however many are kept
    return {"profile": claims_of(citizen), "journeys": journeys, "events": sum(journeys.values())}
