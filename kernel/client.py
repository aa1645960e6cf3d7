"""The kernel's outgoing HTTP client: every service-to-service call goes through it.

It authenticates to the identity service with ``private_key_jwt`` (RFC 7523), caches one
audience-bound access token per callee until shortly before it expires, and attaches the
token and the current request's trace headers to each call.
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
from kernel.problems import PROBLEM_TYPE_PREFIX, Problem

TOKEN_PATH = "/oauth2/token"
JWKS_PATH = "/.well-known/jwks.json"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 60
REFRESH_MARGIN_SECONDS = 30


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


class UpstreamUnavailable(Problem):
    def __init__(self, callee: str, error: httpx.HTTPError) -> None:
        timed_out = is_timeout(error)
        super().__init__(
            504 if timed_out else 503,
            f"The {callee} service {'did not answer in time' if timed_out else 'cannot be reached'}.",
            kind="upstream-timeout" if timed_out else "upstream-unavailable",
            upstream=callee,
        )


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
            raise Problem(500, f"No permission on {callee} is declared for {self.client_id}.", kind="undeclared-call")
        form = {
            "grant_type": "client_credentials",
            "scope": " ".join(scope),
            "resource": audience_of(callee),
            **client_authentication(self.signing_key, self.client_id, self.token_endpoint),
        }
        try:
            response = await self.http.post(self.token_endpoint, data=form, headers=outgoing_trace_headers())
        except httpx.HTTPError as error:
            raise UpstreamUnavailable("identity", error) from error
        body = json_or_empty(response)
        if response.status_code != 200 or "access_token" not in body:
            raise Problem(
                502,
                f"The identity service refused a token for {callee}: "
                f"{body.get('error', response.status_code)} {body.get('error_description', '')}".strip(),
                kind="token-refused",
            )
        return body["access_token"], int(body.get("expires_in", 60))


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
            raise Problem(500, f"No address is configured for the {callee} service.", kind="unknown-peer")
        extra_headers = kwargs.pop("headers", {})
        for attempt in (1, 2):
            token = await self.tokens.token_for(callee)
            headers = {**extra_headers, **outgoing_trace_headers(), "Authorization": f"Bearer {token}"}
            try:
                response = await self.http.request(method, base + path, headers=headers, **kwargs)
            except httpx.HTTPError as error:
                raise UpstreamUnavailable(callee, error) from error
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
        return response.json()["subject"]

    async def fetch_peer_jwks(self, peer: str) -> dict:
        """A peer's published service key (public, so fetched without a token)."""
        base = self.peers.get(peer)
        if base is None:
            raise Problem(500, f"No address is configured for the {peer} service.", kind="unknown-peer")
        try:
            response = await self.http.get(base + JWKS_PATH, headers=outgoing_trace_headers())
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(peer, error) from error
        return response.json()

    async def fetch_issuer_jwks(self) -> dict:
        response = await self.http.get(self.identity_url + JWKS_PATH, headers=outgoing_trace_headers())
        response.raise_for_status()
        return response.json()


def raise_for_upstream_problem(callee: str, response: httpx.Response) -> None:
    """Pass a department's 4xx on to the citizen; anything else from it is a bad gateway."""
    if response.status_code < 400:
        return
    body = json_or_empty(response)
    if 400 <= response.status_code < 500 and response.status_code not in (401, 403):
        problem_type = str(body.get("type", "about:blank"))
        kind = problem_type.removeprefix(PROBLEM_TYPE_PREFIX) if problem_type.startswith(PROBLEM_TYPE_PREFIX) else None
        raise Problem(response.status_code, body.get("detail"), title=body.get("title"), kind=kind, upstream=callee)
    raise Problem(502, f"The {callee} service answered {response.status_code}.", kind="upstream-error", upstream=callee)


def json_or_empty(response: httpx.Response) -> dict:
    """The response's JSON object, or {} when the body is not one (an error page, empty)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
