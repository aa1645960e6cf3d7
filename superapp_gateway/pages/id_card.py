"""电子身份证 The digital ID card on the platform's phone: the card the super-app hosts, shown whole —
every field — and shown whole to a verifier (the demo's bar at the door), since the platform's card
has nothing to leave out.

What the page shows comes from the journey's own functions (superapp_gateway/journeys/id_card.py);
a form sent twice shows the card once (``once``).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request, Response

from kernel.dependencies import NowDep
from superapp_gateway.auth import CurrentSession
from superapp_gateway.dependencies import HistoryDep, StateDep
from superapp_gateway.journeys import id_card as journey
from superapp_gateway.pages.forms import read_form, token_for
from superapp_gateway.pages.once import form_key_of, new_form_key
from superapp_gateway.pages.rendering import PageRoute, page

router = APIRouter(prefix="/id-card", route_class=PageRoute)
# the verifier the demo's citizen shows the card to (workshop/journeys/id_card.py's bar)
VERIFIER = "https://bar.example"
# what the card says about the citizen, in the order a card shows it, with the platform's labels
PERSONAL = {
    "name": ("姓名", "Name"),
    "resident_id": ("公民身份号码", "Resident ID"),
    "birthdate": ("出生日期", "Date of birth"),
    "gender": ("性别", "Sex"),
    "nationality": ("民族 / 国籍", "Nationality"),
    "address": ("住址", "Address"),
    "resident_of": ("户籍所在地", "Resident of"),
}
# what it says about itself
ISSUANCE = {
    "iss": ("签发机关", "Issuer"),
    "vct": ("证件类型", "Card type"),
    "iat": ("签发时间", "Issued at"),
    "exp": ("有效期至", "Valid until"),
}


def card_fields(claims: dict[str, object]) -> dict[str, list[dict[str, Any]]]:
    """Every claim of the card, for the page: the citizen's own first, then the card's; none left out
    (a claim the page has no words for is shown under its own name)."""
    personal = [
        {"name": name, "label": PERSONAL.get(name, (name, name)), "value": value}
        for name, value in sorted(claims.items(), key=lambda item: _order(item[0]))
        if name not in ISSUANCE and name != "cnf" and not name.startswith("_")
    ]
    issuance = [
        {"name": name, "label": label, "value": claims[name], "instant": name in ("iat", "exp")}
        for name, label in ISSUANCE.items()
        if name in claims
    ]
    # the key the card is bound to: the super-app's, not the citizen's device's
    bound = [{"name": "cnf", "label": ("绑定密钥", "Bound to key"), "value": "超级应用持有 held by the super-app"}]
    # what the holder could leave out when showing it: on the platform's card, nothing
    withheld = claims.get("_sd") or []
    choosable = [
        {
            "name": "sd",
            "label": ("可选择披露", "Can be left out"),
            "value": f"{len(withheld)}" if isinstance(withheld, list) and withheld else "无 none",
        }
    ]
    return {"personal": personal, "issuance": issuance + (bound if "cnf" in claims else []) + choosable}


def _order(name: str) -> tuple[int, str]:
    known = list(PERSONAL)
    return (known.index(name) if name in known else len(known), name)


@router.get("")
async def id_card(request: Request, state: StateDep, now: NowDep, citizen: CurrentSession) -> Response:
    claims = await journey.id_card_claims(state, citizen.subject, now)
    shown = card_fields(claims) | {
        "verifier": VERIFIER,
        "form_token": token_for(request, state.settings),
        "form_key": new_form_key(),
    }
    return page(state.settings, "id_card.html", shown)


@router.post("/presentations")
async def present(
    request: Request, state: StateDep, now: NowDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    form = await read_form(request, state.settings)
    # the bar's own fresh nonce (in a real shop, from the QR code its reader shows)
    asked = journey.PresentationRequest(audience=VERIFIER, nonce=secrets.token_urlsafe(16))

    async def act() -> str:
        await journey.show_id_card(state, citizen.subject, asked, history, now)
        return VERIFIER

    shown_to = await state.phone_forms.once(citizen.subject, form_key_of(form), act)
    claims = await journey.id_card_claims(state, citizen.subject, now)
    return page(state.settings, "id_card_shown.html", card_fields(claims) | {"verifier": shown_to})
