"""Who is calling the super-app's own API: a logged-in citizen's session.

A browser presents the session cookie the login left (``citygate_gateway_<regime>``, or
``__Host-citygate_gateway_<regime>`` under https: http-only, SameSite=Lax); a state-changing request
with it must come from the gateway's own origin (``require_own_origin``); an API client such as
a CLI presents the same session id as ``Authorization: Bearer <session id>``. A presented bearer
is never swapped for the cookie: a wrong one is a 401 even if a cookie would have worked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from kernel.browser_sessions import (
    MAX_SESSION_ID_LENGTH,
    cookie_name,
    served_over_https,
    session_id_digest,
)
from kernel.problems import Problem
from superapp_gateway.models import CitizenSession


class NotLoggedIn(Problem):
    def __init__(self) -> None:
        super().__init__(
            401,
            "You are not logged in to the super-app: start at /login.",
            kind="not-logged-in",
            headers={"WWW-Authenticate": 'Bearer realm="citygate super-app"'},
        )


def _served_over_https(app: FastAPI) -> bool:
    return served_over_https(app.state.settings.browser_url)


def browser_cookie(app: FastAPI, purpose: str) -> str:
    """One cookie per purpose and regime, ``__Host-`` under HTTPS (kernel.browser_sessions)."""
    return cookie_name(purpose, app.state.settings.regime.value, https=_served_over_https(app))


def set_browser_cookie(response: Response, app: FastAPI, purpose: str, value: str, max_age: int) -> None:
    response.set_cookie(
        browser_cookie(app, purpose),
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        path="/",
        secure=_served_over_https(app),
    )


def clear_browser_cookie(response: Response, app: FastAPI, purpose: str) -> None:
    response.delete_cookie(
        browser_cookie(app, purpose), path="/", secure=_served_over_https(app), httponly=True, samesite="lax"
    )


def session_cookie(request: Request) -> str:
    return browser_cookie(request.app, "gateway")


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


class CrossOriginRequest(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            "This request did not come from the super-app's own pages, so your session cookie does not count for it.",
            kind="cross-origin-request",
        )


STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sec-Fetch-Site values of a request the gateway's own pages (or the citizen, typing) made
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def own_origin(app: FastAPI) -> str:
    parts = urlsplit(app.state.settings.browser_url)
    return f"{parts.scheme}://{parts.netloc}"


def require_own_origin(request: Request) -> None:
    """A state-changing request carrying the session cookie must come from the gateway's own origin.

    SameSite=Lax is not enough: every citygate service runs on one host (127.0.0.1, other ports),
    so a page served by any of them (a pod's HTML, say) is *same-site* and its form posts carry the
    cookie. Browsers tell where a request comes from: ``Sec-Fetch-Site`` (every current browser, to
    https and loopback origins) and ``Origin`` (every current browser on every form POST and every
    cross-origin fetch other than GET/HEAD; ``null`` from a sandboxed page). Either one naming
    another origin is refused.
    A request with neither is not a browser's cross-origin request — a browser would have sent at
    least one — but a program (the CLI, httpx, curl) acting with a session it holds, which is
    allowed; such a program could present its session as a bearer just as well.
    """
    if request.method not in STATE_CHANGING_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if (fetch_site is not None and fetch_site not in OWN_FETCH_SITES) or (
        origin is not None and origin != own_origin(request.app)
    ):
        raise CrossOriginRequest()


async def require_session(request: Request) -> CitizenSession:
    if request.headers.get("authorization") is None and request.cookies.get(session_cookie(request)):
        require_own_origin(request)  # the cookie is the browser's doing, not necessarily the citizen's
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
