"""The digital ID card: an SD-JWT (RFC 9901) bound to a key the citizen's device holds.

The regime's profile decides what the card says and what the holder may leave out: the
platform's card is always shown whole; the rights regime's lets the holder prove "over 18"
or "resident of the city" without name or birth date. Anyone can check a presentation at
``/credentials/verify`` (or offline, with the published JWKS).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from joserfc.jwk import KeySet
from pydantic import BaseModel, Field

from identity.citizen_auth import CurrentCitizen
from identity.resident_id import CHINA_STANDARD_TIME
from identity.routes import published_jwks
from identity.sd_jwt import SdJwtError, issue_sd_jwt, verify_presentation
from kernel.problems import Problem

router = APIRouter(prefix="/credentials", tags=["digital ID card"])
ID_CARD_TYPE = "urn:citygate:credential:id-card"
ID_CARD_TTL_SECONDS = 24 * 3600


class IdCardRequest(BaseModel):
    holder_jwk: dict = Field(description="The public P-256 JWK of the key the citizen's device holds")


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
    disclosed: dict


@router.post("/id-card", summary="Issue the citizen's digital ID card to their device's key")
def issue_id_card(request: Request, body: IdCardRequest, who: CurrentCitizen) -> IdCardCredential:
    app = request.app
    card = app.state.token_server.profile.id_card(who.citizen, datetime.now(CHINA_STANDARD_TIME).date())
    try:
        credential = issue_sd_jwt(
            issuer=app.state.settings.public_url,
            issuer_key=app.state.signing_key,
            holder_public_jwk=body.holder_jwk,
            claims=card.claims,
            disclosable=set(card.disclosable),
            vct=ID_CARD_TYPE,
            ttl_seconds=ID_CARD_TTL_SECONDS,
        )
    except (SdJwtError, ValueError) as error:
        raise Problem(422, f"The holder key is not usable: {error}", kind="invalid-holder-key") from error
    return IdCardCredential(credential=credential, disclosable=sorted(card.disclosable), expires_in=ID_CARD_TTL_SECONDS)


@router.post("/verify", summary="Check a presentation of an ID card (verifier)")
async def verify(request: Request, body: PresentationCheck) -> VerifiedPresentation:
    app = request.app
    keys = KeySet.import_key_set(await run_in_threadpool(published_jwks, app))
    try:
        payload = verify_presentation(
            body.presentation,
            issuer_keys=keys,
            expected_issuer=app.state.settings.public_url,
            audience=body.audience,
            nonce=body.nonce,
        )
    except SdJwtError as error:
        raise Problem(400, str(error), kind="invalid-presentation") from error
    disclosed = {k: v for k, v in payload.items() if k not in {"iss", "iat", "exp", "nbf", "vct", "cnf"}}
    return VerifiedPresentation(issuer=payload["iss"], disclosed=disclosed)
