"""The citizen's login session at the provider, as the browser holds it: its cookies and its row.

Two cookies, one per purpose and regime (``kernel.browser_sessions``): ``idp`` carries the session
id (only its digest is stored, in ``BrowserSession``), ``login`` the nonce of the login form the
provider served (so a login form it did not serve is refused: login CSRF). Both are ``__Host-``
cookies under HTTPS.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.responses import RedirectResponse, Response

from identity.models import BrowserSession, Citizen, _as_utc
from identity.settings import Settings
from kernel.browser_sessions import MAX_SESSION_ID_LENGTH, cookie_name, served_over_https, session_id_digest
from kernel.database import Database

SESSION_COOKIE = "idp"
LOGIN_FORM_COOKIE = "login"


def _https(settings: Settings) -> bool:
    return served_over_https(settings.issuer)


def cookie(settings: Settings, purpose: str) -> str:
    """The cookie's name: one per purpose and regime, ``__Host-`` under HTTPS."""
    return cookie_name(purpose, settings.regime.value, https=_https(settings))


def set_cookie(response: Response, settings: Settings, purpose: str, value: str, max_age: int) -> None:
    response.set_cookie(
        cookie(settings, purpose),
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        path="/",
        secure=_https(settings),
    )


def delete_cookie(response: Response, settings: Settings, purpose: str) -> None:
    response.delete_cookie(cookie(settings, purpose), path="/", secure=_https(settings), httponly=True, samesite="lax")


def current_session(database: Database, session_id: str | None) -> tuple[BrowserSession, Citizen] | None:
    """The unexpired login session the ``idp`` cookie names, and its citizen; None for any other cookie."""
    if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
        return None
    with database.session() as db:
        found = db.get(BrowserSession, session_id_digest(session_id))
        if found is None or _as_utc(found.expires_at) <= datetime.now(UTC):
            return None
        citizen = db.get(Citizen, found.citizen_id)
        return (found, citizen) if citizen is not None else None


def back_to_authorize(query: str, *, from_login_subpath: bool = False) -> RedirectResponse:
    """Only ever back to the provider's own endpoint: the query is the relying party's request,
    re-validated there. Relative, so the provider may sit under a path prefix; from
    /login/second-factor one level up."""
    return RedirectResponse(f"{'../' if from_login_subpath else ''}authorize?{query}", status_code=303)
