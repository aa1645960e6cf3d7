"""The citizen's own app logging a persona in over plain HTTP, as a native app would (RFC 8252).

``citizen_token`` runs the real authorization code flow as the public client ``citizen-app``:
/authorize with PKCE (S256), a nonce and ``resource=urn:citygate:<service>`` (RFC 8707) → the
login form → the second factor if asked → the consent page (rights regime: allow) → the code from
the Location header of the 302 (nothing listens at the loopback redirect URI) → /oauth2/token with
the code verifier and no client authentication. The ID token is checked (signature against the
published JWKS, issuer, audience, nonce, expiry) before its ``sub`` is returned.

The pieces (``AppAuthorization``, ``sign_in``, ``redeem``) are public so tests can drive each step.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from kernel.access import audience_of
from kernel.citizens import CITIZEN_APP, DEFAULT_CITIZEN_APP_REDIRECT_URI
from kernel.client import JWKS_PATH, TOKEN_PATH, json_or_empty
from kernel.keys import SIGNING_ALGORITHM

_FORM = re.compile(r"<form method=post action='([^']*)'>(.*?)</form>", re.DOTALL)
_HIDDEN = re.compile(r"<input type=hidden name='([^']+)' value='([^']*)'>")
_ERROR = re.compile(r"<p class=error>(.*?)</p>", re.DOTALL)
MAX_STEPS = 10
DISCOVERY_PATH = "/.well-known/openid-configuration"


class CitizenLoginError(Exception):
    """The login did not end with tokens; ``error`` is the OAuth error code when there is one."""

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class CitizenTokens:
    access_token: str  # for the one service asked for: send it as ``Authorization: Bearer``
    id_token: str
    subject: str  # the citizen as that service knows them (the ID token's sub, verified)
    expires_at: datetime  # of the access token


@dataclass(frozen=True)
class AppAuthorization:
    """One authorization request of the citizen's app and the PKCE verifier only the app knows."""

    params: dict[str, str | list[str]]
    verifier: str

    @classmethod
    def for_service(
        cls,
        resource_service: str,
        *,
        redirect_uri: str = DEFAULT_CITIZEN_APP_REDIRECT_URI,
        scope: str = "openid",
        **overrides: str | list[str] | None,
    ) -> AppAuthorization:
        """``overrides`` replace parameters (None drops one): tests use it to send bad requests."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params: dict[str, str | list[str] | None] = {
            "response_type": "code",
            "client_id": CITIZEN_APP,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": audience_of(resource_service),
        }
        params.update(overrides)
        return cls({k: v for k, v in params.items() if v is not None}, verifier)

    @property
    def query(self) -> str:
        return urlencode(self.params, doseq=True)

    @property
    def redirect_uri(self) -> str:
        return str(self.params["redirect_uri"])

    @property
    def resource(self) -> str | None:
        resource = self.params.get("resource")
        return resource if isinstance(resource, str) else None


async def citizen_token(
    identity: httpx.AsyncClient,
    *,
    username: str,
    password: str,
    resource_service: str,
    totp_code: Callable[[], str] | None = None,
) -> CitizenTokens:
    """Log ``username`` in as their own app and return tokens for ``resource_service``.

    ``identity`` reaches the identity service (its ``base_url``); its cookie jar holds the login
    session, so a second call with the same client needs no password again. ``totp_code`` gives
    the current one-time code when the service needs a second factor.
    """
    auth = AppAuthorization.for_service(resource_service)
    code = await sign_in(identity, auth, username=username, password=password, totp_code=totp_code)
    response = await redeem(identity, auth, code)
    if response.status_code != 200:
        body = json_or_empty(response)
        raise CitizenLoginError(
            f"the token request was refused: {body.get('error_description') or response.text}", body.get("error")
        )
    tokens = response.json()
    claims = await verified_id_token(identity, tokens["id_token"], nonce=str(auth.params["nonce"]))
    return CitizenTokens(
        access_token=tokens["access_token"],
        id_token=tokens["id_token"],
        subject=str(claims["sub"]),
        expires_at=datetime.now(UTC) + timedelta(seconds=int(tokens["expires_in"])),
    )


async def sign_in(
    identity: httpx.AsyncClient,
    auth: AppAuthorization,
    *,
    username: str,
    password: str,
    totp_code: Callable[[], str] | None = None,
    decision: str = "allow",
) -> str:
    """The browser part: from /authorize to the code in the 302's Location (CitizenLoginError otherwise)."""
    first = await identity.get(f"/authorize?{auth.query}", follow_redirects=False)
    location = await through_login_pages(
        identity,
        first,
        arrived=lambda url: _without_query(url) == auth.redirect_uri,
        username=username,
        password=password,
        totp_code=totp_code,
        decision=decision,
    )
    return _code_from(location, auth)


async def through_login_pages(
    browser: httpx.AsyncClient,
    response: httpx.Response,
    *,
    arrived: Callable[[str], bool],
    username: str,
    password: str,
    totp_code: Callable[[], str] | None = None,
    decision: str = "allow",
) -> str:
    """Follow redirects and answer the identity service's pages (login, second factor, consent) as
    a person at a browser would, until a redirect goes where ``arrived`` says; that URL is returned
    unvisited. Shared by the citizen's app and a login to the super-app (``workshop.super_app``)."""
    logged_in = stepped_up = decided = False
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if arrived(location):
                return location
            response = await browser.get(location, follow_redirects=False)
            continue
        action, fields = _form_of(response)
        target = urljoin(str(response.url), action)
        if action == "login":
            if logged_in:
                raise CitizenLoginError(f"the login was refused: {_page_error(response)}")
            logged_in = True
            response = await browser.post(
                target, data=fields | {"username": username, "password": password}, follow_redirects=False
            )
        elif action.endswith("second-factor"):
            if totp_code is None:
                raise CitizenLoginError("a second factor is needed: pass totp_code")
            if stepped_up:
                raise CitizenLoginError(f"the one-time code was refused: {_page_error(response)}")
            stepped_up = True
            response = await browser.post(target, data=fields | {"code": totp_code()}, follow_redirects=False)
        elif action == "authorize" and not decided:
            decided = True
            response = await browser.post(target, data=fields | {"decision": decision}, follow_redirects=False)
        else:
            break
    raise CitizenLoginError(f"the login did not finish (last answer: {response.status_code})")


async def redeem(
    identity: httpx.AsyncClient, auth: AppAuthorization, code: str, **overrides: str | None
) -> httpx.Response:
    """The token request of a public client: the code, its PKCE verifier, the client_id, no credential."""
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": auth.redirect_uri,
        "code_verifier": auth.verifier,
        "client_id": CITIZEN_APP,
        "resource": auth.resource,
    }
    form.update(overrides)
    return await identity.post(
        TOKEN_PATH, data={k: v for k, v in form.items() if v is not None}, follow_redirects=False
    )


async def verified_id_token(identity: httpx.AsyncClient, id_token: str, *, nonce: str) -> dict:
    """The ID token's claims, once its signature, issuer, audience, nonce and expiry check out."""
    # the issuer as the provider names itself (it may be reached here under another address)
    issuer = (await identity.get(DISCOVERY_PATH)).raise_for_status().json()["issuer"]
    keys = KeySet.import_key_set((await identity.get(JWKS_PATH)).raise_for_status().json())
    try:
        claims = jwt.decode(id_token, keys, algorithms=[SIGNING_ALGORITHM]).claims
        jwt.JWTClaimsRegistry(
            leeway=10,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": CITIZEN_APP},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError) as error:
        raise CitizenLoginError(f"the ID token does not verify: {error}") from error
    return claims


def _code_from(location: str, auth: AppAuthorization) -> str:
    query = parse_qs(urlsplit(location).query)
    if "error" in query:
        raise CitizenLoginError(f"{query['error'][0]}: {query.get('error_description', [''])[0]}", query["error"][0])
    if query.get("state") != [auth.params["state"]]:
        raise CitizenLoginError("the redirect carries another state: not the answer to this request")
    return query["code"][0]


def _form_of(response: httpx.Response) -> tuple[str, dict[str, str]]:
    if "text/html" not in response.headers.get("content-type", ""):
        body = json_or_empty(response)
        raise CitizenLoginError(
            f"the identity service answered {response.status_code}: "
            f"{body.get('error_description') or body.get('detail') or response.text}",
            body.get("error"),
        )
    found = _FORM.search(response.text)
    if found is None:
        raise CitizenLoginError(f"no form on the identity service's page ({response.status_code})")
    fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(found.group(2))}
    return html.unescape(found.group(1)), fields


def _page_error(response: httpx.Response) -> str:
    found = _ERROR.search(response.text)
    return html.unescape(found.group(1)) if found else f"status {response.status_code}"


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
