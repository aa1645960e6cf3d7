"""Journey 4, show the digital ID card: the super-app's route (docs/journeys.md).

Platform regime: the super-app holds the citizen's card (WeChat hosts Guangzhou's digital ID) and
presents it — whole — to the verifier the citizen names, over the verifier's nonce, and keeps the
presentation in its history. Rights regime: 403 ``card-on-your-device``; the citizen's app holds
the card and presents only what is asked, without the super-app.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kernel.dependencies import NowDep
from kernel.problems import problem_responses
from superapp_gateway.auth import CITIZEN_PROBLEMS, CurrentSession
from superapp_gateway.dependencies import GatewayState, HistoryDep, JourneyHistory, StateDep
from superapp_gateway.errors import CardNotIssued, CardOnYourDevice, CardUnusable, LoginAgain

router = APIRouter(tags=["city services: digital ID card"])
JOURNEY = "id-card"


class PresentationRequest(BaseModel):
    audience: str = Field(min_length=1, max_length=500, description="The verifier the card is shown to")
    nonce: str = Field(min_length=1, max_length=200, description="The verifier's fresh nonce")


class IdCardPresentation(BaseModel):
    format: str
    presentation: str = Field(description="SD-JWT + key-binding JWT, for the verifier (RFC 9901)")
    audience: str
    nonce: str


@router.post(
    "/city-services/id-card/presentations",
    status_code=201,
    summary="Show my digital ID card to a verifier (the super-app holds it)",
    responses=problem_responses(*CITIZEN_PROBLEMS, CardOnYourDevice, LoginAgain, CardNotIssued, CardUnusable),
)
async def present_id_card(
    body: PresentationRequest, citizen: CurrentSession, gateway: StateDep, now: NowDep, history: HistoryDep
) -> IdCardPresentation:
    return IdCardPresentation(**await show_id_card(gateway, citizen.subject, body, history, now))


# The journey's logic, shared by this route and the phone's pages (superapp_gateway/pages/).


async def show_id_card(
    gateway: GatewayState, subject: str, asked: PresentationRequest, history: JourneyHistory, now: datetime
) -> dict[str, str]:
    """The citizen's card presented to the verifier (the regime may refuse: ``CardOnYourDevice``)."""
    assert gateway.settings.identity_url is not None
    shown = await gateway.policy.id_card.present(
        gateway.database,
        gateway.http,
        gateway.settings.identity_url,
        subject,
        audience=asked.audience,
        nonce=asked.nonce,
        now=now,
    )
    await history.record(
        subject, JOURNEY, "showed my ID card", {"audience": asked.audience, "disclosed": "the whole card"}
    )
    return shown


async def id_card_claims(gateway: GatewayState, subject: str, now: datetime) -> dict[str, object]:
    """What the card the super-app holds says (the regime may refuse: ``CardOnYourDevice``)."""
    assert gateway.settings.identity_url is not None
    return await gateway.policy.id_card.claims(
        gateway.database, gateway.http, gateway.settings.identity_url, subject, now=now
    )
