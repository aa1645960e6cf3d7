"""Where a login comes back to: a path of the phone's pages (under ``/app/``) or a page of the citizen's
own web app (its configured origin, ``superapp_gateway/citizen_web.py``), and nothing else. Checked
when the login starts (anything else is refused) and again when it ends (the cookie that carries it is
the browser's to change, and any page on 127.0.0.1 — every citygate service — may set cookies there)."""

from __future__ import annotations

import re

from superapp_gateway.citizen_web import allowed_return_to
from superapp_gateway.errors import UnsafeReturnTo
from superapp_gateway.settings import Settings

PHONE_ROOT = "/app/"
MAX_RETURN_TO_LENGTH = 300
# a path and a query of plain characters: no scheme, no host, no backslash, no escapes (no "%2e%2e")
_PLAIN = re.compile(r"/app/[A-Za-z0-9/_.~?=&-]*")


def safe_return_to(settings: Settings, value: str) -> str:
    """``value`` if it is a path of the phone's own pages or a page of the citizen's web app;
    ``UnsafeReturnTo`` otherwise."""
    if allowed_return_to(settings, value) is not None:
        return value
    if len(value) > MAX_RETURN_TO_LENGTH or not _PLAIN.fullmatch(value):
        raise UnsafeReturnTo()
    path = value.partition("?")[0]
    # "//" could be read as a host by whoever joins it again; "." and ".." climb out of /app/
    if "//" in path or any(segment in (".", "..") for segment in path.split("/")):
        raise UnsafeReturnTo()
    return value


def returned_to(settings: Settings, value: str | None) -> str | None:
    """A carried return address, if it is still safe (a tampered one is dropped, not followed)."""
    if not value:
        return None
    try:
        return safe_return_to(settings, value)
    except UnsafeReturnTo:
        return None
