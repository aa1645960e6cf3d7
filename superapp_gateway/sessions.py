"""A logged-in citizen's session at the super-app: its cookie, its row, where a request with it comes from.

A browser presents the session cookie the login left (``citygate_gateway_<regime>``, or
``__Host-citygate_gateway_<regime>`` under https: http-only, SameSite=Lax); a state-changing request
with it must come from the gateway's own origin (``require_own_origin``); an API client such as
a CLI presents the same session id as ``Authorization: Bearer <session id>``. A presented bearer
is never swapped for the cookie: a wrong one is a 401 even if a cookie would have worked.

The dependencies routes take (``LoggedInSession``, ``CurrentSession``) are ``superapp_gateway/auth.py``'s.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlmodel import Session

from kernel.browser_sessions import (
    MAX_SESSION_ID_LENGTH,
    cookie_name,
    served_over_https,
    session_id_digest,
)
from superapp_gateway.citizen_web_origin import from_citizen_web
from superapp_gateway.errors import CrossOriginRequest
from superapp_gateway.models import CitizenSession
from superapp_gateway.settings import Settings

SESSION_COOKIE = "gateway"  # the purpose of the session's cookie (browser_cookie)
SESSION_TTL = timedelta(hours=8)
# ID token claims that are about the token, not the citizen: not kept with the session.
TOKEN_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nonce", "at_hash"})


def browser_url(settings: Settings) -> str:
    """Where browsers reach the gateway (the kernel's settings always fill it in)."""
    assert settings.browser_url is not None
    return settings.browser_url


def browser_cookie(settings: Settings, purpose: str) -> str:
    """One cookie per purpose and regime, ``__Host-`` under HTTPS (kernel.browser_sessions)."""
    return cookie_name(purpose, settings.regime.value, https=served_over_https(browser_url(settings)))


def set_browser_cookie(response: Response, settings: Settings, purpose: str, value: str, max_age: int) -> None:
    response.set_cookie(
        browser_cookie(settings, purpose),
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        path="/",
        secure=served_over_https(browser_url(settings)),
    )


def clear_browser_cookie(response: Response, settings: Settings, purpose: str) -> None:
    response.delete_cookie(
        browser_cookie(settings, purpose),
        path="/",
        secure=served_over_https(browser_url(settings)),
        httponly=True,
        samesite="lax",
    )


def open_session(db: Session, claims: dict[str, Any], now: datetime) -> tuple[str, CitizenSession]:
    """A new session for the citizen the ID token's ``claims`` name: its id (for the cookie) and its
    row, which keeps only the id's digest."""
    kept = {k: v for k, v in claims.items() if k not in TOKEN_CLAIMS}
    session_id = secrets.token_urlsafe(32)
    session = CitizenSession(
        id=session_id_digest(session_id),
        subject=claims["sub"],
        claims=json.dumps(kept),
        acr=str(claims.get("acr", "")),
        expires_at=now + SESSION_TTL,
    )
    db.add(session)
    db.commit()
    return session_id, session


def current_session(db: Session, session_id: str | None, now: datetime) -> CitizenSession | None:
    """The session with this id, unless unknown or expired."""
    if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
        return None
    session = db.get(CitizenSession, session_id_digest(session_id))
    if session is None:
        return None
    expires = session.expires_at if session.expires_at.tzinfo else session.expires_at.replace(tzinfo=UTC)
    return session if expires > now else None


def presented_session_id(request: Request, settings: Settings) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    return request.cookies.get(browser_cookie(settings, SESSION_COOKIE))


def presents_cookie(request: Request, settings: Settings) -> bool:
    """The request counts on the session cookie (no Authorization header, which would take precedence)."""
    return request.headers.get("authorization") is None and bool(
        request.cookies.get(browser_cookie(settings, SESSION_COOKIE))
    )


STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sec-Fetch-Site values of a request the gateway's own pages (or the citizen, typing) made
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def own_origin(settings: Settings) -> str:
    parts = urlsplit(browser_url(settings))
    return f"{parts.scheme}://{parts.netloc}"


def require_own_origin(request: Request, settings: Settings) -> None:
    """A state-changing request carrying the session cookie must come from the gateway's own origin.

    SameSite=Lax is not enough: every citygate service runs on one host (127.0.0.1, other ports),
    so a page served by any of them (a pod's HTML, say) is *same-site* and its form posts carry the
    cookie. Browsers tell where a request comes from: ``Sec-Fetch-Site`` (every current browser, to
    https and loopback origins) and ``Origin`` (every current browser on every form POST and every
    cross-origin fetch other than GET/HEAD; ``null`` from a sandboxed page). Either one naming
    another origin is refused.
    The citizen web app's page (``citizen_web_origin``, superapp_gateway/citizen_web.py) is allowed too.
    A request with neither is not a browser's cross-origin request — a browser would have sent at
    least one — but a program (the CLI, httpx, curl) acting with a session it holds, which is
    allowed; such a program could present its session as a bearer just as well.
    """
    if request.method not in STATE_CHANGING_METHODS:
        return
    if from_citizen_web(request, settings):
        return  # the rights phone's own page, the one other origin the settings trust
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if (fetch_site is not None and fetch_site not in OWN_FETCH_SITES) or (
        origin is not None and origin != own_origin(settings)
    ):
        raise CrossOriginRequest()
