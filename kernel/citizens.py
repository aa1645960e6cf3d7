"""A citizen calling a service directly, with an access token their own app holds.

The citizen's app (a CLI today, a browser app later) is the public OAuth client ``citizen-app``
(RFC 8252: no client secret, PKCE, a loopback redirect URI). It asks the identity service for a
token for ONE service (RFC 8707 ``resource=urn:citygate:<service>``); the token's ``aud`` is that
service, ``client_id`` is ``citizen-app`` and ``sub`` is the citizen as that service's sector
knows them (its pairwise pseudonym in the rights regime, the resident ID in the platform regime).
No gateway stands between the citizen and the service, so none can act as the citizen on its own.

A service that accepts such calls lists itself in ``CITIZEN_RESOURCES`` and declares
``citizen: CurrentCitizen`` in a route's signature (and ``responses=problem_responses(*CITIZEN_PROBLEMS)``
in its decorator). Service tokens (client credentials) are refused there, and citizen-app tokens are
refused by ``kernel.tokens.RequirePermission``: the app is in no ``kernel.access`` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kernel.access import AUDIENCE_PREFIX, audience_of
from kernel.in_clear import note_caller
from kernel.problems import Problem, answers
from kernel.tokens import Credentials, InvalidToken, IssuerKeysUnavailable, Unauthenticated, verified_claims

# The citizen's own app, registered with the identity service as a public client.
CITIZEN_APP = "citizen-app"
# Where the identity service sends the app back (exact match; RFC 8252 §7.3 loopback). The CLI
# never listens there: it reads the code from the Location header of the 302.
DEFAULT_CITIZEN_APP_REDIRECT_URI = "http://127.0.0.1/citizen-app/callback"
# Where the citizen's web app (workshop/citizen_web, its own loopback origin) is sent back; the
# identity service registers ``<its citizen_web_origin><this>`` as a second redirect URI.
CITIZEN_WEB_CALLBACK_PATH = "/callback"
# The services that accept a citizen's own tokens: the only resources citizen-app may ask for.
# The departments take them on their ``/me/...`` routes, reached directly or sealed in a courier
# envelope the gateway relays (kernel/courier.py).
# ``identity`` is the provider itself: the app's token for it is good for the digital ID card
# (``/credentials/id-card``) and nothing else there (identity/citizen_auth.py).
CITIZEN_RESOURCES: frozenset[str] = frozenset({"consent", "pod", "fines", "appointments", "prescriptions", "identity"})


def citizen_resource_audiences() -> frozenset[str]:
    """``urn:citygate:<service>`` for every service in ``CITIZEN_RESOURCES``."""
    return frozenset(audience_of(service) for service in CITIZEN_RESOURCES)


def service_of_audience(audience: str) -> str:
    """The service an audience ``urn:citygate:<service>`` names (ValueError for any other URI)."""
    if not audience.startswith(AUDIENCE_PREFIX) or len(audience) == len(AUDIENCE_PREFIX):
        raise ValueError(f"not a citygate service audience: {audience!r}")
    return audience[len(AUDIENCE_PREFIX) :]


class NotACitizen(Problem):
    """A valid token for this service, but held by another service, not by a citizen's own app."""

    status, kind = 403, "not-a-citizen"

    def __init__(self, client_id: object) -> None:
        super().__init__(
            f"This endpoint is for citizens' own apps; {client_id!r} is not one.",
            headers={"WWW-Authenticate": 'Bearer realm="citygate", error="insufficient_scope"'},
        )


# What ``CurrentCitizen`` answers with: a route's ``responses=problem_responses(*CITIZEN_PROBLEMS)``.
CITIZEN_PROBLEMS: tuple[type[Problem], ...] = (Unauthenticated, InvalidToken, NotACitizen, IssuerKeysUnavailable)


@dataclass(frozen=True)
class CitizenCaller:
    """The citizen on the other end of a call, as this service's sector knows them."""

    subject: str  # this service's subject for the citizen (pseudonym or resident ID, by regime)
    acr: str  # how strongly they authenticated (eIDAS level, or the platform's real-name login)
    auth_time: int  # when (seconds since the epoch)
    token_id: str  # the token's jti, for audit lines


@answers(*CITIZEN_PROBLEMS)
async def current_citizen(request: Request, credentials: Credentials) -> CitizenCaller:
    """FastAPI dependency: a valid token for this service, held by the citizen's own app."""
    claims = await verified_claims(
        request,
        credentials,
        missing="This endpoint needs the citizen's access token from their app (Authorization: Bearer).",
    )
    if claims.get("client_id") != CITIZEN_APP:
        raise NotACitizen(claims.get("client_id"))
    subject, acr, auth_time = claims.get("sub"), claims.get("acr"), claims.get("auth_time")
    if (
        not (isinstance(subject, str) and subject)
        or not (isinstance(acr, str) and acr)
        or not isinstance(auth_time, int)
        or isinstance(auth_time, bool)
    ):
        raise InvalidToken("The access token names no citizen (sub, acr and auth_time are required).")
    note_caller(request.scope, "citizen", client_id=CITIZEN_APP, subject=subject)
    return CitizenCaller(subject=subject, acr=acr, auth_time=auth_time, token_id=str(claims.get("jti", "")))


CurrentCitizen = Annotated[CitizenCaller, Depends(current_citizen)]
