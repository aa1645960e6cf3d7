"""The super-app logs citizens in through the regime's identity provider (it is a relying party:
superapp_gateway/relying_party.py).

What the gateway then holds about the citizen is exactly what the ID token said — the page after
login shows it, so a workshop can see who learned what.
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from kernel.bounds import ShortText
from kernel.dependencies import NowDep, SessionDep
from kernel.page_policy import scriptless_page_headers
from kernel.problems import problem_responses
from superapp_gateway.auth import LOGGED_IN_PROBLEMS, LoggedInSession
from superapp_gateway.dependencies import GatewayState, StateDep
from superapp_gateway.errors import (
    CodeRefused,
    InvalidIdToken,
    LoginRefused,
    LoginStateMismatch,
    UnknownLogin,
    UnsafeReturnTo,
)
from superapp_gateway.relying_party import (
    LOGIN_ATTEMPT_TTL,
    redeem_code,
    s256,
    start_attempt,
    state_digest,
    take_attempt,
    token_endpoint_of,
    verify_id_token,
)
from superapp_gateway.return_to import MAX_RETURN_TO_LENGTH, returned_to, safe_return_to
from superapp_gateway.sessions import (
    SESSION_COOKIE,
    SESSION_TTL,
    TOKEN_CLAIMS,
    browser_cookie,
    browser_url,
    clear_browser_cookie,
    open_session,
    set_browser_cookie,
)
from superapp_gateway.settings import Settings

router = APIRouter(tags=["login"])
CALLBACK_PATH = "/auth/callback"
# The browser that started a login carries a hash of its state, so that only it can finish it.
LOGIN_STATE_COOKIE = "gateway_login_state"
# Where a login started by the phone's pages comes back to (superapp_gateway/return_to.py).
RETURN_TO_COOKIE = "gateway_return_to"
# A login name to pre-fill at the identity provider (OpenID Connect's login_hint): the demo
# personas' handles are of this shape.
LoginHint = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", max_length=40)]
ReturnTo = Annotated[str | None, Query(max_length=MAX_RETURN_TO_LENGTH)]


def _started_in_this_browser(request: Request, settings: Settings, state: str) -> bool:
    """RFC 6749 §10.12: the state is bound to the browser that started the login. Without this an
    attacker could start a login, log in as themselves, and send the unvisited callback URL to a
    victim, whose browser would then hold a session on the attacker's account (login CSRF)."""
    carried = request.cookies.get(browser_cookie(settings, LOGIN_STATE_COOKIE), "")
    return bool(carried) and hmac.compare_digest(carried, state_digest(state))


@router.get(
    "/login",
    summary="Log in to the super-app (redirects to the identity provider)",
    responses=problem_responses(UnsafeReturnTo),
)
async def login(
    gateway: StateDep,
    session: SessionDep,
    now: NowDep,
    return_to: ReturnTo = None,
    login_hint: LoginHint = None,
) -> RedirectResponse:
    """``return_to``: a path of the phone's pages (``/app/...``) or a page of the citizen's web app to
    come back to instead of the usual page after login (superapp_gateway/return_to.py);
    ``login_hint``: the login name the identity provider may pre-fill."""
    settings = gateway.settings
    coming_back_to = safe_return_to(settings, return_to) if return_to is not None else None
    attempt = await run_in_threadpool(start_attempt, session, now)
    callback_url = browser_url(settings) + CALLBACK_PATH
    query = urlencode(
        ({"login_hint": login_hint} if login_hint else {})
        | {
            "response_type": "code",
            "client_id": settings.service_name,
            "redirect_uri": callback_url,
            "scope": gateway.policy.login_scope,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": s256(attempt.code_verifier),
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{settings.identity_browser_url}/authorize?{query}", status_code=302)
    # A hash, not the state itself: the cookie alone is not enough to finish someone's login.
    set_browser_cookie(
        response,
        settings,
        LOGIN_STATE_COOKIE,
        state_digest(attempt.state),
        max_age=int(LOGIN_ATTEMPT_TTL.total_seconds()),
    )
    if coming_back_to is not None:
        set_browser_cookie(
            response, settings, RETURN_TO_COOKIE, coming_back_to, max_age=int(LOGIN_ATTEMPT_TTL.total_seconds())
        )
    else:  # an earlier, unfinished login's wish does not apply to this one
        clear_browser_cookie(response, settings, RETURN_TO_COOKIE)
    return response


def _log_in(
    gateway: GatewayState, db: Session, claims: dict[str, Any], tokens: dict[str, Any], now: datetime
) -> tuple[str, str]:
    """Open the citizen's session; returns its id and where the browser goes next."""
    session_id, session = open_session(db, claims, now)
    # platform: kept to fetch the hosted ID card; rights: dropped (superapp_gateway/id_cards.py)
    gateway.policy.id_card.keep_login_token(db, session.subject, tokens["access_token"], tokens.get("expires_in"), now)
    # on the platform a first login goes to the user agreement (superapp_gateway/user_agreement.py)
    return session_id, gateway.policy.sign_up.landing_after_login(db, session.subject)


@router.get(
    CALLBACK_PATH,
    summary="Where the identity provider sends the citizen back",
    response_class=Response,
    responses=problem_responses(LoginStateMismatch, UnknownLogin, LoginRefused, CodeRefused, InvalidIdToken),
)
async def callback(
    request: Request,
    gateway: StateDep,
    session: SessionDep,
    now: NowDep,
    state: ShortText = "",
    code: ShortText | None = None,
    error: ShortText | None = None,
) -> Response:
    settings = gateway.settings
    assert settings.identity_url is not None  # the kernel's settings always fill it in
    if not _started_in_this_browser(request, settings, state):
        raise LoginStateMismatch()
    # committed before the provider is asked: the session holds no connection meanwhile
    attempt = await run_in_threadpool(take_attempt, session, state, now)
    if attempt is None:
        raise UnknownLogin()
    if error or not code:
        raise LoginRefused(error)
    tokens = await redeem_code(
        gateway.http,
        token_endpoint=token_endpoint_of(settings.identity_url),
        code=code,
        redirect_uri=browser_url(settings) + CALLBACK_PATH,
        code_verifier=attempt.code_verifier,
        client_id=settings.service_name,
        signing_key=gateway.signing_key,
    )
    claims = verify_id_token(
        tokens["id_token"],
        await gateway.services.fetch_issuer_jwks(),
        issuer=settings.identity_url,
        client_id=settings.service_name,
        nonce=attempt.nonce,
    )
    session_id, landing = await run_in_threadpool(_log_in, gateway, session, claims, tokens, now)
    # checked again: the cookie is the browser's, and any page on this host may have set it
    coming_back_to = returned_to(settings, request.cookies.get(browser_cookie(settings, RETURN_TO_COOKIE)))
    # Off the callback URL at once, so the used code is not left in the address bar or history.
    response = RedirectResponse(coming_back_to or landing, status_code=303)
    set_browser_cookie(response, settings, SESSION_COOKIE, session_id, max_age=int(SESSION_TTL.total_seconds()))
    clear_browser_cookie(response, settings, LOGIN_STATE_COOKIE)
    clear_browser_cookie(response, settings, RETURN_TO_COOKIE)
    return response


@router.get(
    "/me",
    summary="The logged-in citizen, as the super-app knows them",
    response_class=HTMLResponse,
    responses=problem_responses(*LOGGED_IN_PROBLEMS),
)
async def me(session: LoggedInSession, gateway: StateDep) -> HTMLResponse:
    return _logged_in_page(gateway, json.loads(session.claims))


def _logged_in_page(gateway: GatewayState, claims: dict[str, Any]) -> HTMLResponse:
    shown = {k: v for k, v in claims.items() if k not in TOKEN_CLAIMS}
    rows = "".join(f"<tr><td><code>{escape(k)}</code></td><td>{escape(str(v))}</td></tr>" for k, v in shown.items())
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Logged in</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}"
        "td{padding:.3rem .8rem;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>You are logged in to the super-app ({gateway.settings.regime.value} regime)</h1>"
        f"<p>This is everything the super-app learned about you from the identity provider:</p>"
        f"<table>{rows}</table><p>{escape(gateway.policy.what_login_means)}</p></body></html>",
        headers=scriptless_page_headers(),
    )
