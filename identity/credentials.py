"""The digital ID card: an SD-JWT (RFC 9901) bound to a key the citizen's device holds.

The regime's policy decides what the card says and what the holder may leave out: the
platform's card is always shown whole; the rights regime's lets the holder prove "over 18"
or "resident of the city" without name or birth date. Anyone can check a presentation at
``/credentials/verify`` (or offline, with the published JWKS).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from identity.auth import CurrentCitizen
from identity.dependencies import PolicyDep, StateDep
from identity.errors import InsufficientScope, InvalidHolderKey, InvalidPresentation
from identity.issuer_keys import published_jwks
from kernel.keys import signature_key_set
from kernel.problems import problem_responses
from kernel.resident_id import CHINA_STANDARD_TIME
from kernel.sd_jwt import SdJwtError, issue_sd_jwt, verify_presentation

router = APIRouter(prefix="/credentials", tags=["digital ID card"])
ID_CARD_TYPE = "urn:citygate:credential:id-card"
ID_CARD_TTL_SECONDS = 24 * 3600


class IdCardRequest(BaseModel):
    holder_jwk: dict[str, Any] = Field(description="The public P-256 JWK of the key the citizen's device holds")


class IdCardCredential(BaseModel):
    format: str = "dc+sd-jwt"
    credential: str
    disclosable: list[str]
    expires_in: int


class PresentationCheck(BaseModel):
    presentation: str = Field(max_length=20_000, description="SD-JWT with disclosures and key-binding JWT")
    audience: str = Field(max_length=500, description="Who the holder addressed the presentation to (the verifier)")
    nonce: str = Field(max_length=200, description="The verifier's fresh nonce the holder signed over")


class VerifiedPresentation(BaseModel):
    issuer: str
    disclosed: dict[str, Any]


@router.post(
    "/id-card",
    summary="Issue the citizen's digital ID card to their device's key",
    responses=problem_responses(InvalidHolderKey, InsufficientScope),
)
def issue_id_card(body: IdCardRequest, who: CurrentCitizen, state: StateDep, policy: PolicyDep) -> IdCardCredential:
    card = policy.id_card(who.citizen, datetime.now(CHINA_STANDARD_TIME).date())
    try:
        credential = issue_sd_jwt(
            issuer=state.settings.issuer,
            issuer_key=state.signing_key,
            holder_public_jwk=body.holder_jwk,
            claims=card.claims,
            disclosable=set(card.disclosable),
            vct=ID_CARD_TYPE,
            ttl_seconds=ID_CARD_TTL_SECONDS,
        )
    except (SdJwtError, ValueError) as error:
        raise InvalidHolderKey(f"The holder key is not usable: {error}") from error
    return IdCardCredential(credential=credential, disclosable=sorted(card.disclosable), expires_in=ID_CARD_TTL_SECONDS)


@router.post(
    "/verify",
    summary="Check a presentation of an ID card (verifier)",
    responses=problem_responses(InvalidPresentation),
)
async def verify(body: PresentationCheck, state: StateDep) -> VerifiedPresentation:
    keys = signature_key_set(await run_in_threadpool(published_jwks, state.settings, state.signing_key))
    try:
        payload = verify_presentation(
            body.presentation,
            issuer_keys=keys,
            expected_issuer=state.settings.issuer,
            audience=body.audience,
            nonce=body.nonce,
        )
    except SdJwtError as error:
        raise InvalidPresentation(str(error)) from error
    disclosed = {k: v for k, v in payload.items() if k not in {"iss", "iat", "exp", "nbf", "vct", "cnf"}}
    return VerifiedPresentation(issuer=payload["iss"], disclosed=disclosed)
