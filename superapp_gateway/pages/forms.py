"""The anti-forgery token of the phone's forms (a synchronizer token, OWASP's CSRF cheat sheet).

Every state-changing form carries ``form_token``: an HMAC of a fixed label keyed by the citizen's
session id — the value of the http-only session cookie, which no other page can read. A page on
another origin (or another port of 127.0.0.1, same-site to the gateway) cannot compute it, so its
forged post is refused even where the browser sends no ``Origin``/``Sec-Fetch-Site`` for the
gateway's origin check (superapp_gateway/sessions.py) to refuse it first. It is tied to the session:
another session's token does not pass, and a new login makes new ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request

from superapp_gateway.errors import NotLoggedIn
from superapp_gateway.pages.problems import FormTokenInvalid
from superapp_gateway.sessions import presented_session_id
from superapp_gateway.settings import Settings

FORM_TOKEN_FIELD = "form_token"
_LABEL = b"citygate super-app /app/ form token v1"


def form_token(session_id: str) -> str:
    digest = hmac.new(session_id.encode(), _LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_for(request: Request, settings: Settings) -> str:
    """The token this browser's pages put in their forms."""
    session_id = presented_session_id(request, settings)
    if not session_id:
        raise NotLoggedIn()
    return form_token(session_id)


def require_form_token(request: Request, settings: Settings, sent: object) -> None:
    """Refuse a form whose token is not this session's."""
    expected = token_for(request, settings)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise FormTokenInvalid()


async def read_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form's text fields, once its token is checked (``FormTokenInvalid`` otherwise)."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    require_form_token(request, settings, form.get(FORM_TOKEN_FIELD))
    return form
