"""Whether a request comes from the citizen web app's page (the setting ``citizen_web_origin``):
the one other origin whose fetches may carry the session cookie into a state-changing route
(``superapp_gateway/sessions.py``). The rest of what the web app may do is ``citizen_web.py``."""

from __future__ import annotations

from fastapi import Request

from kernel.cors import origin_of
from superapp_gateway.settings import Settings

# Sec-Fetch-Site of a fetch from the web app's page: another port of the same host is "same-site"
CITIZEN_WEB_FETCH_SITES = frozenset({"same-site", "same-origin"})


def citizen_web_origin(settings: Settings) -> str | None:
    return origin_of(settings.citizen_web_origin) if settings.citizen_web_origin else None


def from_citizen_web(request: Request, settings: Settings) -> bool:
    """The request is the web app's page's own fetch: its exact ``Origin``, from the same site."""
    origin = citizen_web_origin(settings)
    fetch_site = request.headers.get("sec-fetch-site")
    return (
        origin is not None
        and request.headers.get("origin") == origin
        and (fetch_site is None or fetch_site in CITIZEN_WEB_FETCH_SITES)
    )
