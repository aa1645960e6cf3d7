"""``CurrentCitizen``: the citizen behind an access token this provider issued (userinfo, ID card)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from identity.models import Citizen, IssuedAccessToken
from kernel.problems import Problem
from kernel.tokens import InvalidAccessToken

_bearer = HTTPBearer(auto_error=False, description="A citizen's access token from this provider")
_CHALLENGE = 'Bearer realm="citygate", error="invalid_token"'


@dataclass(frozen=True)
class AuthenticatedCitizen:
    citizen: Citizen
    client_id: str
    scope: str


def _citizen_of(app, token_id: str) -> Citizen | None:
    with app.state.database.session() as session:
        issued = session.get(IssuedAccessToken, token_id)
        return session.get(Citizen, issued.citizen_id) if issued and issued.citizen_id else None


async def current_citizen(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthenticatedCitizen:
    if credentials is None:
        raise Problem(
            401,
            "Send the citizen's access token (Authorization: Bearer).",
            kind="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="citygate"'},
        )
    try:
        claims = await request.app.state.citizen_token_verifier.verify(credentials.credentials)
    except InvalidAccessToken as error:
        raise Problem(
            401,
            f"The access token was refused: {error}.",
            kind="invalid-token",
            headers={"WWW-Authenticate": _CHALLENGE},
        ) from error
    if "openid" not in str(claims.get("scope", "")).split():
        raise Problem(
            403,
            "This token was not issued for OpenID Connect.",
            kind="insufficient-scope",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    citizen = await run_in_threadpool(_citizen_of, request.app, str(claims.get("jti", "")))
    if citizen is None:
        raise Problem(
            401, "No citizen is behind this token.", kind="invalid-token", headers={"WWW-Authenticate": _CHALLENGE}
        )
    return AuthenticatedCitizen(citizen, str(claims["client_id"]), str(claims["scope"]))


CurrentCitizen = Annotated[AuthenticatedCitizen, Depends(current_citizen)]
