"""Who calls the identity provider: named dependencies, one per kind of caller.

- a service holding one of the provider's permissions (``kernel.access``): ``SectorSubjectCaller``,
  ``SubjectLinkCaller``, ``DemoSubjectsCaller``;
- a citizen, through a token this provider issued for OpenID Connect (userinfo, the ID card):
  ``CurrentCitizen``.

Every token addressed to the provider is checked against its own keys (``IdentityState.token_verifier``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from identity.dependencies import StateDep
from identity.errors import InsufficientScope
from identity.models import Citizen, IssuedAccessToken
from kernel.database import Database
from kernel.tokens import Credentials, InvalidToken, RequirePermission, ServiceCaller, verified_claims

# a department learns its own subject for a citizen it has identified (identity.sector_subjects)
SectorSubjectCaller = Annotated[ServiceCaller, Depends(RequirePermission("identity:sector-subject"))]
# the consent ledger links another sector's subject to its own
SubjectLinkCaller = Annotated[ServiceCaller, Depends(RequirePermission("identity:subject-link"))]
# demo deployments: the consent ledger and the pod learn their subjects for the demo personas (citygate reset)
DemoSubjectsCaller = Annotated[ServiceCaller, Depends(RequirePermission("identity:demo-subjects"))]


@dataclass(frozen=True)
class AuthenticatedCitizen:
    citizen: Citizen
    client_id: str
    scope: str


def _citizen_of(database: Database, token_id: str) -> Citizen | None:
    with database.session() as session:
        issued = session.get(IssuedAccessToken, token_id)
        return session.get(Citizen, issued.citizen_id) if issued and issued.citizen_id else None


async def current_citizen(request: Request, credentials: Credentials, state: StateDep) -> AuthenticatedCitizen:
    """The citizen behind an access token this provider issued for OpenID Connect."""
    claims = await verified_claims(
        request, credentials, missing="Send the citizen's access token (Authorization: Bearer)."
    )
    if "openid" not in str(claims.get("scope", "")).split():
        raise InsufficientScope(
            "This token was not issued for OpenID Connect.",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    citizen = await run_in_threadpool(_citizen_of, state.database, str(claims.get("jti", "")))
    if citizen is None:
        raise InvalidToken("No citizen is behind this token.")
    return AuthenticatedCitizen(citizen, str(claims["client_id"]), str(claims["scope"]))


CurrentCitizen = Annotated[AuthenticatedCitizen, Depends(current_citizen)]
