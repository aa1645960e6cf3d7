"""The super-app as the rights phone's courier: what the citizen's own web app (workshop/citizen_web,
served from its own origin, the setting ``citizen_web_origin``) may do at the gateway.

- Read and post from its page (CORS with credentials, on the courier, the wallet and the profile only).
- Post with the session cookie: a cross-origin POST is otherwise refused (``require_own_origin``).
- Send the citizen to ``/login?return_to=<a page of the web app>`` and get them back there logged
  in; any other ``return_to`` is ignored (no open redirect), the usual landing page is used.
Unset, none of this is allowed: the gateway answers only its own origin, as before.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response

from kernel.cors import allow_citizen_web
from superapp_gateway.citizen_web_origin import citizen_web_origin
from superapp_gateway.sessions import browser_cookie, clear_browser_cookie, set_browser_cookie
from superapp_gateway.settings import Settings

# What the web app's page calls here (and what lies under them)
CITIZEN_WEB_PATHS = ("/courier", "/wallet", "/me/profile")
RETURN_TO_COOKIE = "gateway_return_to"
RETURN_TO_SECONDS = 600  # as long as a login may take
MAX_RETURN_TO = 500


def allow_citizen_web_app(app: FastAPI, settings: Settings) -> None:
    allow_citizen_web(app, settings.citizen_web_origin, CITIZEN_WEB_PATHS, credentials=True, methods=("GET", "POST"))


def allowed_return_to(settings: Settings, value: str | None) -> str | None:
    """``value`` when it is a page of the web app (its origin, a plain path); None otherwise."""
    origin = citizen_web_origin(settings)
    if origin is None or not value or len(value) > MAX_RETURN_TO or not value.isprintable() or "\\" in value:
        return None
    try:
        parts = urlsplit(value)
        same_origin = f"{parts.scheme}://{parts.netloc.lower()}" == origin
    except ValueError:
        return None
    return value if same_origin and parts.path.startswith("/") and "@" not in parts.netloc else None


def remember_return_to(response: Response, settings: Settings, value: str | None) -> None:
    """Kept in the browser for the callback; re-checked there (the cookie is the browser's to change)."""
    if (target := allowed_return_to(settings, value)) is not None:
        set_browser_cookie(response, settings, RETURN_TO_COOKIE, target, max_age=RETURN_TO_SECONDS)


def landing(request: Request, response_settings: Settings, default: str) -> str:
    """Where the callback sends the citizen: back to the web app when it asked, else ``default``."""
    carried = request.cookies.get(browser_cookie(response_settings, RETURN_TO_COOKIE))
    return allowed_return_to(response_settings, carried) or default


def forget_return_to(response: Response, settings: Settings) -> None:
    clear_browser_cookie(response, settings, RETURN_TO_COOKIE)
