"""The kernel's outgoing HTTP client: every service-to-service call goes through it.

It authenticates to the identity service with ``private_key_jwt`` (RFC 7523), caches one
audience-bound access token per callee until shortly before it expires, and attaches the
token and the current request's trace headers to each call.

What goes wrong on the way is a problem: the callee unreachable or too slow (``UpstreamUnavailable``,
raised as ``UpstreamUnreachable`` 503 or ``UpstreamTimeout`` 504), no token for it (``TokenRefused``),
a call nobody declared (``UndeclaredCall``) or to a peer with no address (``UnknownPeer``); a callee's
own 4xx is passed on as a ``RelayedProblem`` by ``raise_for_upstream_problem``, anything else from it
is an ``UpstreamError``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import httpx
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from httpx_aiohttp import AiohttpTransport
from joserfc.jwk import ECKey

from kernel.access import audience_of, permissions_for
from kernel.keys import SIGNING_ALGORITHM
from kernel.observability import outgoing_trace_headers
from kernel.problems import (
    Problem,
    ResidentNotEnrolled,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    kind_of,
)
from kernel.problems import UpstreamUnavailable as UpstreamUnavailable  # re-exported: callers catch it here

TOKEN_PATH = "/oauth2/token"
JWKS_PATH = "/.well-known/jwks.json"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 60
REFRESH_MARGIN_SECONDS = 30
CITIZEN_NOT_FOUND = "citizen-not-found"  # the identity service's answer for a resident ID nobody is enrolled under


def build_transport(kind: str) -> httpx.AsyncBaseTransport:
    if kind == "aiohttp":
        return AiohttpTransport(trust_env=False)
    return httpx.AsyncHTTPTransport()


def client_authentication(signing_key: ECKey, client_id: str, token_endpoint: str) -> dict[str, str]:
    """The form fields that authenticate a client at a token endpoint with private_key_jwt (RFC 7523)."""
    assertion = private_key_jwt_sign(
        signing_key,
        client_id,
        token_endpoint,
        alg=SIGNING_ALGORITHM,
        expires_in=ASSERTION_LIFETIME_SECONDS,
    )
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}


def is_timeout(error: httpx.HTTPError) -> bool:
    """Whether the callee was reached but too slow, rather than not reachable at all.

    httpx-aiohttp 0.2.0 maps every aiohttp connection error to ``ConnectTimeout``, a refused
    connection (``ClientConnectorError``) included, so the aiohttp cause decides.
    """
    if not isinstance(error, httpx.TimeoutException):
        return False
    cause = error.__cause__
    return not isinstance(cause, aiohttp.ClientConnectionError) or isinstance(cause, TimeoutError)


def upstream_unavailable(callee: str, error: httpx.HTTPError) -> UpstreamUnavailable:
    """The problem for a call to ``callee`` that failed with ``error``: too slow (504) or not reachable (503)."""
    if is_timeout(error):
        return UpstreamTimeout(f"The {callee} service did not answer in time.", upstream=callee)
    return UpstreamUnreachable(f"The {callee} service cannot be reached.", upstream=callee)


class UndeclaredCall(Problem):
    """This service calls one for which ``kernel.access`` declares it no permission: a bug, not the caller's."""

    status, kind = 500, "undeclared-call"

    def __init__(self, client_id: str, callee: str) -> None:
        super().__init__(f"No permission on {callee} is declared for {client_id}.")


class UnknownPeer(Problem):
    """This service calls one whose address its settings do not give."""

    status, kind = 500, "unknown-peer"

    def __init__(self, callee: str) -> None:
        super().__init__(f"No address is configured for the {callee} service.")


class TokenRefused(Problem):
    """The identity service would not issue this service a token for the callee."""

    status, kind = 502, "token-refused"

    def __init__(self, callee: str, error: object, description: object) -> None:
        super().__init__(f"The identity service refused a token for {callee}: {error} {description}".strip())


class RelayedProblem(Problem):
    """A department's own 4xx problem, passed on as it answered it (``raise_for_upstream_problem``).

    The one problem class whose status and kind belong to the instance: they are the callee's, and
    its catalogue is its own (a kind of another vocabulary, or none, is ``about:blank``)."""

    def __init__(self, status: int, kind: str | None, detail: str | None, *, title: str | None, upstream: str) -> None:
        self.status, self.kind = status, kind
        super().__init__(detail, title=title, upstream=upstream)


class AccessTokenCache:
    def __init__(self, *, client_id: str, signing_key: ECKey, identity_url: str, http: httpx.AsyncClient) -> None:
        self.client_id = client_id
        self.signing_key = signing_key
        self.token_endpoint = identity_url + TOKEN_PATH
        self.http = http
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def token_for(self, callee: str) -> str:
        cached = self._tokens.get(callee)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        async with self._locks.setdefault(callee, asyncio.Lock()):
            cached = self._tokens.get(callee)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            token, expires_in = await self._request_token(callee)
            self._tokens[callee] = (token, time.monotonic() + max(expires_in - REFRESH_MARGIN_SECONDS, 1))
            return token

    def forget(self, callee: str) -> None:
        self._tokens.pop(callee, None)

    async def _request_token(self, callee: str) -> tuple[str, int]:
        scope = permissions_for(self.client_id, callee)
        if not scope:
            raise UndeclaredCall(self.client_id, callee)
        form = {
            "grant_type": "client_credentials",
            "scope": " ".join(scope),
            "resource": audience_of(callee),
            **client_authentication(self.signing_key, self.client_id, self.token_endpoint),
        }
        try:
            response = await self.http.post(self.token_endpoint, data=form, headers=outgoing_trace_headers())
        except httpx.HTTPError as error:
            raise upstream_unavailable("identity", error) from error
        body = json_or_empty(response)
        if response.status_code != 200 or "access_token" not in body:
            raise TokenRefused(callee, body.get("error", response.status_code), body.get("error_description", ""))
        return str(body["access_token"]), int(body.get("expires_in", 60))


class ServiceClient:
    """Calls ``callee`` by name; ``peers`` maps names to base URLs (from settings)."""

    def __init__(
        self, *, client_id: str, signing_key: ECKey, identity_url: str, peers: dict[str, str], http: httpx.AsyncClient
    ) -> None:
        self.peers = peers
        self.identity_url = identity_url
        self.http = http
        self.tokens = AccessTokenCache(
            client_id=client_id, signing_key=signing_key, identity_url=identity_url, http=http
        )

    async def request(self, callee: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        base = self.identity_url if callee == "identity" else self.peers.get(callee)
        if base is None:
            raise UnknownPeer(callee)
        extra_headers = kwargs.pop("headers", {})
        for attempt in (1, 2):
            token = await self.tokens.token_for(callee)
            headers = {**extra_headers, **outgoing_trace_headers(), "Authorization": f"Bearer {token}"}
            try:
                response = await self.http.request(method, base + path, headers=headers, **kwargs)
            except httpx.HTTPError as error:
                raise upstream_unavailable(callee, error) from error
            # A 401 means the callee did not process the request (token expired early or
            # keys rotated), so asking for a fresh token and retrying once is safe.
            if response.status_code != 401 or attempt == 2:
                return response
            self.tokens.forget(callee)
        raise AssertionError("unreachable")

    async def get_json(self, callee: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(callee, "GET", path, **kwargs)
        raise_for_upstream_problem(callee, response)
        return response.json()

    async def sector_subject(self, resident_id: str, *, wait_seconds: float = 0) -> str:
        """This service's own subject for a citizen it has identified (see identity/sector_subjects.py).

        ``wait_seconds`` lets a service starting alongside the identity service (demo seeds)
        wait for it to come up.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                response = await self.request("identity", "POST", "/sector-subjects", json={"resident_id": resident_id})
                break
            except UpstreamUnavailable:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.25)
        raise_for_upstream_problem("identity", response)
        return str(response.json()["subject"])

    async def demo_subjects(self) -> dict[str, str]:
        """This service's own subjects for the demo personas, by handle: a demo deployment's reset only
        (``GET /demo/sector-subjects``, identity/sector_subjects.py)."""
        body = await self.get_json("identity", "/demo/sector-subjects")
        return {str(handle): str(subject) for handle, subject in body["subjects"].items()}

    async def enrolled_subject(self, resident_id: str) -> str:
        """This service's subject for a resident its own operator names (a registry, a register, a
        doctor): as ``sector_subject``, with a resident the identity service has not enrolled refused
        as ``ResidentNotEnrolled`` (422: the operator's request names nobody), not passed on as its 404."""
        try:
            return await self.sector_subject(resident_id)
        except RelayedProblem as problem:
            if problem.kind == CITIZEN_NOT_FOUND:
                raise ResidentNotEnrolled(
                    "The identity service has no resident enrolled under this resident ID; enrol them first."
                ) from None
            raise

    async def fetch_peer_jwks(self, peer: str) -> dict[str, Any]:
        """A peer's published service key (public, so fetched without a token)."""
        base = self.peers.get(peer)
        if base is None:
            raise UnknownPeer(peer)
        try:
            response = await self.http.get(base + JWKS_PATH, headers=outgoing_trace_headers())
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise upstream_unavailable(peer, error) from error
        return json_object(response)

    async def fetch_issuer_jwks(self) -> dict[str, Any]:
        response = await self.http.get(self.identity_url + JWKS_PATH, headers=outgoing_trace_headers())
        response.raise_for_status()
        return json_object(response)


def raise_for_upstream_problem(callee: str, response: httpx.Response) -> None:
    """Pass a department's 4xx on to the citizen; anything else from it is a bad gateway."""
    if response.status_code < 400:
        return
    body = json_or_empty(response)
    if 400 <= response.status_code < 500 and response.status_code not in (401, 403):
        raise RelayedProblem(
            response.status_code,
            kind_of(body.get("type")),
            _text_or_none(body.get("detail")),
            title=_text_or_none(body.get("title")),
            upstream=callee,
        )
    raise UpstreamError(f"The {callee} service answered {response.status_code}.", upstream=callee)


def _text_or_none(value: object) -> str | None:
    """A problem member that should be a string (RFC 9457 ``detail``, ``title``), as one."""
    return None if value is None else str(value)


def json_or_empty(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when the body is not one (an error page, empty)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object; ValueError when its body is not JSON, or JSON but not an object."""
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    return body
