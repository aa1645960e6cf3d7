"""Who is calling the super-app's own API: a logged-in citizen's session.

A browser presents the session cookie the login left (``citygate_gateway_<regime>``: http-only,
SameSite=Lax, so another site cannot make the browser send it with a POST); an API client such as
a CLI presents the same session id as ``Authorization: Bearer <session id>``. A presented bearer
is never swapped for the cookie: a wrong one is a 401 even if a cookie would have worked.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from kernel.problems import Problem
from superapp_gateway.models import CitizenSession

MAX_SESSION_ID_LENGTH = 200  # ours are 43 characters; anything far longer is not one


class NotLoggedIn(Problem):
    def __init__(self) -> None:
        super().__init__(401, "You are not logged in to the super-app: start at /login.", kind="not-logged-in",
                         headers={"WWW-Authenticate": 'Bearer realm="citygate super-app"'})


def _served_over_https(app: FastAPI) -> bool:
    return app.state.settings.browser_url.startswith("https://")


def browser_cookie(app: FastAPI, purpose: str) -> str:
    """One cookie per purpose and regime, so both regimes' gateways can run side by side on one host.

    Under HTTPS the name carries the ``__Host-`` prefix: the browser then only accepts it with
    ``Secure``, ``Path=/`` and no ``Domain``, so no other host (or a plain-http page) can plant or
    overwrite it. Over plain http (the loopback demo) browsers refuse ``Secure`` cookies from
    127.0.0.1 (only ``localhost`` counts as a secure context for cookies in some browsers), and
    with it a ``__Host-`` one, so there the plain name is used.
    """
    name = f"citygate_{purpose}_{app.state.settings.regime.value}"
    return f"__Host-{name}" if _served_over_https(app) else name


def set_browser_cookie(response: Response, app: FastAPI, purpose: str, value: str, max_age: int) -> None:
    response.set_cookie(browser_cookie(app, purpose), value, max_age=max_age, httponly=True, samesite="lax",
                        path="/", secure=_served_over_https(app))


def clear_browser_cookie(response: Response, app: FastAPI, purpose: str) -> None:
    response.delete_cookie(browser_cookie(app, purpose), path="/", secure=_served_over_https(app), httponly=True,
                           samesite="lax")


def session_cookie(request: Request) -> str:
    return browser_cookie(request.app, "gateway")


def session_id_digest(session_id: str) -> str:
    """What the database keeps of a session id: its SHA-256, so a copy of the database (or a
    backup, or a log of its rows) holds no live session. The id has 256 random bits, so an
    unsalted hash cannot be reversed by guessing."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def current_session(app: FastAPI, session_id: str | None) -> CitizenSession | None:
    """The session with this id, unless unknown or expired."""
    if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
        return None
    with app.state.database.session() as db:
        session = db.get(CitizenSession, session_id_digest(session_id))
    if session is None:
        return None
    expires = session.expires_at if session.expires_at.tzinfo else session.expires_at.replace(tzinfo=UTC)
    return session if expires > datetime.now(UTC) else None


def presented_session_id(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    return request.cookies.get(session_cookie(request))


async def require_session(request: Request) -> CitizenSession:
    session = await run_in_threadpool(current_session, request.app, presented_session_id(request))
    if session is None:
        raise NotLoggedIn()
    return session


async def require_agreed_session(request: Request) -> CitizenSession:
    """A session whose citizen may use the city services: on the platform, only once the user
    agreement has been agreed to (``superapp_gateway/user_agreement.py``)."""
    session = await require_session(request)
    await run_in_threadpool(request.app.state.policy.sign_up.require_agreed, request.app, session.subject)
    return session


# Logged in, whether or not the agreement has been agreed to: the login page and the agreement itself.
LoggedInSession = Annotated[CitizenSession, Depends(require_session)]
# Every city service, the wallet and the citizen's own pages.
CurrentSession = Annotated[CitizenSession, Depends(require_agreed_session)]
