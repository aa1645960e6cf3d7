"""The super-app logs citizens in through the regime's identity provider (it is a relying party).

Authorization code flow with PKCE (S256) and nonce; the code is redeemed with private_key_jwt;
the ID token is verified against the provider's JWKS. What the gateway then holds about the
citizen is exactly what the ID token said — the page after login shows it, so a workshop
can see who learned what.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete

from kernel.bounds import ShortText
from kernel.client import TOKEN_PATH, client_authentication
from kernel.keys import SIGNING_ALGORITHM
from kernel.problems import Problem
from kernel.regime import Regime
from superapp_gateway.models import CitizenSession, LoginAttempt
from superapp_gateway.sessions import (
    LoggedInSession,
    browser_cookie,
    clear_browser_cookie,
    session_id_digest,
    set_browser_cookie,
)

router = APIRouter(tags=["login"])
CALLBACK_PATH = "/auth/callback"
LOGIN_ATTEMPT_TTL = timedelta(minutes=10)
# The browser that started a login carries a hash of its state, so that only it can finish it.
LOGIN_STATE_COOKIE = "gateway_login_state"
SESSION_TTL = timedelta(hours=8)
# What the super-app asks the provider for, per regime: the platform gets everything with
# "openid"; the rights gateway asks for the name only, to greet the citizen.
LOGIN_SCOPE = {Regime.PLATFORM: "openid", Regime.RIGHTS: "openid profile"}
WHAT_IT_MEANS = {
    Regime.PLATFORM: "The super-app now holds your resident ID and real-name record, the same identifier "
    "every department receives.",
    Regime.RIGHTS: "The super-app knows you by a pseudonym that only the platform sector uses, and by the "
    "claims you allowed. Departments get different pseudonyms.",
}


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _start(app) -> LoginAttempt:
    attempt = LoginAttempt(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(64),
        created_at=datetime.now(UTC),
    )
    with app.state.database.session() as session:
        session.exec(delete(LoginAttempt).where(LoginAttempt.created_at < datetime.now(UTC) - LOGIN_ATTEMPT_TTL))
        session.add(attempt)
        session.commit()
    return attempt


def _state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _started_in_this_browser(request: Request, state: str) -> bool:
    """RFC 6749 §10.12: the state is bound to the browser that started the login. Without this an
    attacker could start a login, log in as themselves, and send the unvisited callback URL to a
    victim, whose browser would then hold a session on the attacker's account (login CSRF)."""
    carried = request.cookies.get(browser_cookie(request.app, LOGIN_STATE_COOKIE), "")
    return bool(carried) and hmac.compare_digest(carried, _state_digest(state))


def _take(app, state: str) -> LoginAttempt | None:
    """Each attempt is redeemable once: it is deleted as it is read."""
    with app.state.database.session() as session:
        attempt = session.get(LoginAttempt, state)
        if attempt is None:
            return None
        deleted = session.exec(delete(LoginAttempt).where(LoginAttempt.state == state))
        session.commit()
    created = attempt.created_at if attempt.created_at.tzinfo else attempt.created_at.replace(tzinfo=UTC)
    fresh = datetime.now(UTC) - created < LOGIN_ATTEMPT_TTL
    return attempt if deleted.rowcount == 1 and fresh else None


@router.get("/login", summary="Log in to the super-app (redirects to the identity provider)")
async def login(request: Request) -> RedirectResponse:
    settings = request.app.state.settings
    attempt = await run_in_threadpool(_start, request.app)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.service_name,
            "redirect_uri": settings.browser_url + CALLBACK_PATH,
            "scope": LOGIN_SCOPE[settings.regime],
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": _s256(attempt.code_verifier),
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{settings.identity_browser_url}/authorize?{query}", status_code=302)
    # A hash, not the state itself: the cookie alone is not enough to finish someone's login.
    set_browser_cookie(
        response,
        request.app,
        LOGIN_STATE_COOKIE,
        _state_digest(attempt.state),
        max_age=int(LOGIN_ATTEMPT_TTL.total_seconds()),
    )
    return response


@router.get(CALLBACK_PATH, summary="Where the identity provider sends the citizen back", response_class=Response)
async def callback(
    request: Request, state: ShortText = "", code: ShortText | None = None, error: ShortText | None = None
) -> Response:
    app = request.app
    settings = app.state.settings
    if not _started_in_this_browser(request, state):
        raise Problem(
            403, "This login was not started in this browser: start again at /login.", kind="login-state-mismatch"
        )
    attempt = await run_in_threadpool(_take, app, state)
    if attempt is None:
        raise Problem(
            400, "This login is unknown, already used or too old: start again at /login.", kind="unknown-login"
        )
    if error or not code:
        raise Problem(401, f"The identity provider did not log you in ({error or 'no code'}).", kind="login-refused")
    token_endpoint = settings.identity_url + TOKEN_PATH
    response = await app.state.http.post(
        token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.browser_url + CALLBACK_PATH,
            "code_verifier": attempt.code_verifier,
            **client_authentication(app.state.signing_key, settings.service_name, token_endpoint),
        },
    )
    if response.status_code != 200:
        raise Problem(
            502, f"The identity provider refused the code: {response.json().get('error')}.", kind="code-refused"
        )
    tokens = response.json()
    claims = verify_id_token(
        tokens["id_token"],
        await app.state.services.fetch_issuer_jwks(),
        issuer=settings.identity_url,
        client_id=settings.service_name,
        nonce=attempt.nonce,
    )
    session_id, session = await run_in_threadpool(_open_session, app, claims)
    # platform: kept to fetch the hosted ID card; rights: dropped (superapp_gateway/id_cards.py)
    await run_in_threadpool(
        app.state.policy.id_card.keep_login_token,
        app,
        session.subject,
        tokens["access_token"],
        tokens.get("expires_in"),
    )
    # Off the callback URL at once, so the used code is not left in the address bar or history; on
    # the platform a first login goes to the user agreement (superapp_gateway/user_agreement.py).
    landing = await run_in_threadpool(app.state.policy.sign_up.landing_after_login, app, session.subject)
    response = RedirectResponse(landing, status_code=303)
    set_browser_cookie(response, app, "gateway", session_id, max_age=int(SESSION_TTL.total_seconds()))
    clear_browser_cookie(response, app, LOGIN_STATE_COOKIE)
    return response


@router.get("/me", summary="The logged-in citizen, as the super-app knows them", response_class=HTMLResponse)
async def me(request: Request, session: LoggedInSession) -> HTMLResponse:
    return _logged_in_page(request.app.state.settings.regime, json.loads(session.claims))


def verify_id_token(id_token: str, jwks: dict, *, issuer: str, client_id: str, nonce: str) -> dict:
    try:
        claims = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=[SIGNING_ALGORITHM]).claims
        jwt.JWTClaimsRegistry(
            leeway=10,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except (JoseError, ValueError) as error:
        raise Problem(502, f"The ID token did not verify: {error}.", kind="invalid-id-token") from error
    return claims


def _open_session(app, claims: dict) -> tuple[str, CitizenSession]:
    """The new session's id (for the cookie) and its row, which keeps only the id's digest."""
    kept = {k: v for k, v in claims.items() if k not in {"iss", "aud", "exp", "iat", "nonce", "at_hash"}}
    session_id = secrets.token_urlsafe(32)
    session = CitizenSession(
        id=session_id_digest(session_id),
        subject=claims["sub"],
        claims=json.dumps(kept),
        acr=str(claims.get("acr", "")),
        expires_at=datetime.now(UTC) + SESSION_TTL,
    )
    with app.state.database.session() as db:
        db.add(session)
        db.commit()
    return session_id, session


def _logged_in_page(regime: Regime, claims: dict) -> HTMLResponse:
    shown = {k: v for k, v in claims.items() if k not in {"iss", "aud", "exp", "iat", "nonce", "at_hash"}}
    rows = "".join(f"<tr><td><code>{escape(k)}</code></td><td>{escape(str(v))}</td></tr>" for k, v in shown.items())
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Logged in</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}"
        "td{padding:.3rem .8rem;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>You are logged in to the super-app ({regime.value} regime)</h1>"
        f"<p>This is everything the super-app learned about you from the identity provider:</p>"
        f"<table>{rows}</table><p>{escape(WHAT_IT_MEANS[regime])}</p></body></html>",
        headers={"Cache-Control": "no-store"},
    )
