"""The super-app as the identity provider's relying party: the login attempts it keeps, redeeming
the code, verifying the ID token.

Authorization code flow with PKCE (S256) and nonce; the code is redeemed with private_key_jwt;
the ID token is verified against the provider's JWKS. Each login attempt (state, nonce, PKCE
verifier) is kept for ``LOGIN_ATTEMPT_TTL`` and is redeemable once.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, KeySetSerialization
from sqlalchemy import delete
from sqlmodel import Session, col

from kernel.client import TOKEN_PATH, client_authentication
from kernel.keys import SIGNING_ALGORITHM
from superapp_gateway.errors import CodeRefused, InvalidIdToken
from superapp_gateway.models import LoginAttempt

LOGIN_ATTEMPT_TTL = timedelta(minutes=10)


def s256(verifier: str) -> str:
    """The PKCE code challenge of ``verifier`` (RFC 7636, S256)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def start_attempt(db: Session, now: datetime) -> LoginAttempt:
    """A new login attempt, kept; attempts older than ``LOGIN_ATTEMPT_TTL`` are dropped."""
    attempt = LoginAttempt(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(64),
        created_at=now,
    )
    db.exec(delete(LoginAttempt).where(col(LoginAttempt.created_at) < now - LOGIN_ATTEMPT_TTL))
    db.add(attempt)
    db.commit()
    return attempt


def take_attempt(db: Session, state: str, now: datetime) -> LoginAttempt | None:
    """The attempt ``state`` names, if it is fresh; each is redeemable once: it is deleted as it is read."""
    attempt = db.get(LoginAttempt, state)
    if attempt is None:
        return None
    deleted = db.exec(delete(LoginAttempt).where(col(LoginAttempt.state) == state))
    db.commit()
    created = attempt.created_at if attempt.created_at.tzinfo else attempt.created_at.replace(tzinfo=UTC)
    fresh = now - created < LOGIN_ATTEMPT_TTL
    return attempt if deleted.rowcount == 1 and fresh else None


async def redeem_code(
    http: httpx.AsyncClient,
    *,
    token_endpoint: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    client_id: str,
    signing_key: ECKey,
) -> dict[str, Any]:
    """The provider's tokens for ``code`` (private_key_jwt client authentication); 502 if it refuses."""
    response = await http.post(
        token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            **client_authentication(signing_key, client_id, token_endpoint),
        },
    )
    if response.status_code != 200:
        raise CodeRefused(response.json().get("error"))
    tokens: dict[str, Any] = response.json()
    return tokens


def token_endpoint_of(identity_url: str) -> str:
    return identity_url + TOKEN_PATH


def verify_id_token(id_token: str, jwks: dict[str, Any], *, issuer: str, client_id: str, nonce: str) -> dict[str, Any]:
    try:
        keys = KeySet.import_key_set(cast(KeySetSerialization, jwks))
        claims = jwt.decode(id_token, keys, algorithms=[SIGNING_ALGORITHM]).claims
        jwt.JWTClaimsRegistry(
            leeway=10,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except (JoseError, ValueError) as error:
        raise InvalidIdToken(error) from error
    return claims
