"""Verifying RFC 9068 access tokens from the identity service, and the permission dependency.

Checked on every call: signature against the issuer's published JWKS, ``alg`` in an
allow-list (so ``none`` and HMAC confusion are refused before any key is touched),
``typ`` ``at+jwt``, issuer, audience (this service), expiry, and then the permission
against ``kernel.access``.

A route that needs a permission names it once, as a typed alias in its package's ``auth.py``::

    FinesReader = Annotated[ServiceCaller, Depends(RequirePermission("fines:read"))]

    @router.get("/fines", responses=problem_responses(*SERVICE_CALLER_PROBLEMS))
    async def list_fines(caller: FinesReader) -> ...

or, when the route needs the check but not the caller, lists it in ``dependencies=[Depends(RequirePermission(...))]``.
``SERVICE_CALLER_PROBLEMS`` are the problems the check answers with, for the route's OpenAPI
``responses``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from kernel.access import is_allowed
from kernel.in_clear import note_caller
from kernel.keys import SIGNING_ALGORITHM, signature_key_set
from kernel.problems import Problem, answers
from kernel.state import ServiceState, state_of

ALLOWED_ALGORITHMS = (SIGNING_ALGORITHM,)
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
CLOCK_LEEWAY_SECONDS = 10
JWKS_MIN_REFRESH_SECONDS = 30
# Callers reuse one token for many calls (kernel.client caches them), and checking its ES256
# signature was ~40% of the dependency work on a hot endpoint (docs/benchmarks.md, consent
# decisions): a token already verified is remembered until it expires.
VERIFIED_CACHE_SIZE = 4096


INVALID_TOKEN_CHALLENGE = 'Bearer realm="citygate", error="invalid_token"'


class InvalidAccessToken(Exception):
    pass


# The problems a call's token check answers with (a service's own or a citizen's, kernel.citizens).


class Unauthenticated(Problem):
    """The call carries no bearer token; ``detail`` says which token the endpoint wants."""

    status, kind = 401, "unauthenticated"

    def __init__(self, detail: str, *, realm: str = "citygate") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": f'Bearer realm="{realm}"'})


class InvalidToken(Problem):
    """The bearer token was refused (signature, type, issuer, audience, expiry, missing claims)."""

    status, kind = 401, "invalid-token"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE})


class ForbiddenCaller(Problem):
    """A valid token whose holder may not call this endpoint (with ``required_permission``: the one it lacks)."""

    status, kind = 403, "forbidden-caller"

    def __init__(self, detail: str, *, required_permission: str | None = None) -> None:
        if required_permission is None:
            super().__init__(detail)
            return
        super().__init__(
            detail,
            required_permission=required_permission,
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{required_permission}"'},
        )


class IssuerKeysUnavailable(Problem):
    """The identity service's published signing keys could not be fetched, so no token can be checked."""

    status, kind = 503, "issuer-keys-unavailable"

    def __init__(self) -> None:
        super().__init__("The identity service's signing keys cannot be fetched.")


# What ``RequirePermission`` answers with: a route's ``responses=problem_responses(*SERVICE_CALLER_PROBLEMS)``.
SERVICE_CALLER_PROBLEMS: tuple[type[Problem], ...] = (
    Unauthenticated,
    InvalidToken,
    ForbiddenCaller,
    IssuerKeysUnavailable,
)


@dataclass(frozen=True)
class ServiceCaller:
    """The service on the other end of an authenticated call."""

    client_id: str
    scopes: frozenset[str]
    token_id: str


class AccessTokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        fetch_jwks: Callable[[], Awaitable[dict[str, Any]]],
        algorithms: tuple[str, ...] = ALLOWED_ALGORITHMS,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._fetch_jwks = fetch_jwks
        self.algorithms = list(algorithms)
        self._key_set: KeySet | None = None
        self._fetched_at = float("-inf")
        self._refresh_lock = asyncio.Lock()
        self._verified: dict[str, dict[str, Any]] = {}
        self._claims_registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            client_id={"essential": True},
        )

    async def verify(self, token: str) -> dict[str, Any]:
        claims = self._verified.get(token)
        if claims is not None and time.time() < claims["exp"] + CLOCK_LEEWAY_SECONDS:
            return claims
        claims = await self._verify_signed(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # crude, but bounded, and a miss only costs one verification
        self._verified[token] = claims
        return claims

    async def _verify_signed(self, token: str) -> dict[str, Any]:
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, UnicodeEncodeError, ValueError) as error:
            raise InvalidAccessToken("not a compact JWS") from error
        if header.get("alg") not in self.algorithms:
            raise InvalidAccessToken(f"algorithm {header.get('alg')!r} is not accepted")
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidAccessToken("not an at+jwt access token")
        key_set = await self._key_set_with(header.get("kid"))
        try:
            claims = jwt.decode(token, key_set, algorithms=self.algorithms).claims
            self._claims_registry.validate(claims)
        except JoseError as error:
            raise InvalidAccessToken(error.description or error.error) from error
        except ValueError as error:
            raise InvalidAccessToken(str(error)) from error
        return claims

    async def _key_set_with(self, kid: str | None) -> KeySet:
        if self._key_set is None or not self._has_kid(kid):
            async with self._refresh_lock:
                stale = time.monotonic() - self._fetched_at >= JWKS_MIN_REFRESH_SECONDS
                if self._key_set is None or (not self._has_kid(kid) and stale):
                    try:
                        document = await self._fetch_jwks()
                        self._key_set = signature_key_set(document)
                    except Exception as error:
                        raise IssuerKeysUnavailable() from error
                    self._fetched_at = time.monotonic()
        if not self._has_kid(kid):
            raise InvalidAccessToken("signed by a key the issuer does not publish")
        assert self._key_set is not None
        return self._key_set

    def _has_kid(self, kid: str | None) -> bool:
        if self._key_set is None or kid is None:
            return False
        return any(key.kid == kid for key in self._key_set.keys)


bearer_scheme = HTTPBearer(auto_error=False, description="Access token from the identity service")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def verified_claims(
    request: Request, credentials: HTTPAuthorizationCredentials | None, *, missing: str
) -> dict[str, Any]:
    """The claims of the call's bearer token, checked by this service's verifier; 401 otherwise
    (``missing`` says which token the endpoint wants)."""
    if credentials is None:
        raise Unauthenticated(missing)
    verifier = state_of(request.app, ServiceState).token_verifier
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidAccessToken as error:
        raise InvalidToken(f"The access token was refused: {error}.") from error


@answers(*SERVICE_CALLER_PROBLEMS)
class RequirePermission:
    """FastAPI dependency: the call carries a valid token and the caller holds ``permission``."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    async def __call__(self, request: Request, credentials: Credentials) -> ServiceCaller:
        claims = await verified_claims(
            request, credentials, missing="This endpoint needs a service access token (Authorization: Bearer)."
        )
        caller = ServiceCaller(
            client_id=str(claims["client_id"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token_id=str(claims.get("jti", "")),
        )
        note_caller(request.scope, "service", client_id=caller.client_id, subject=None)
        if self.permission not in caller.scopes or not is_allowed(caller.client_id, self.permission):
            raise ForbiddenCaller(
                f"Service {caller.client_id!r} may not call this endpoint ({self.permission}).",
                required_permission=self.permission,
            )
        return caller
