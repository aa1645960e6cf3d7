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

from fastapi import FastAPI

from kernel.cors import allow_citizen_web
from superapp_gateway.citizen_web_origin import citizen_web_origin
from superapp_gateway.settings import Settings

# What the web app's page calls here (and what lies under them)
# (the free slots: the super-app asks the bureau with its own service token, as on its own pages)
CITIZEN_WEB_PATHS = ("/courier", "/wallet", "/me/profile", "/city-services/appointments/slots")
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
