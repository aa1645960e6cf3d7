"""A persona logging in to the super-app over plain HTTP, as their browser would.

The gateway is the relying party: ``GET /login`` sends the browser to the identity service,
whose pages are answered (``workshop.citizen_app.through_login_pages``), and the callback leaves
the gateway's session cookie in ``browser``'s cookie jar; every later call with ``browser`` is
the logged-in citizen.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from workshop.citizen_app import CitizenLoginError, through_login_pages

AFTER_LOGIN_PATH = "/me"


async def log_in_to_super_app(browser: httpx.AsyncClient, gateway_url: str, *, username: str, password: str,
                              totp_code: Callable[[], str] | None = None) -> None:
    first = await browser.get(gateway_url + "/login", follow_redirects=False)
    callback = await through_login_pages(
        browser, first, arrived=lambda url: url.startswith(gateway_url + "/auth/callback"),
        username=username, password=password, totp_code=totp_code)
    landed = await browser.get(callback, follow_redirects=False)
    if not (landed.is_redirect and landed.headers.get("location") == AFTER_LOGIN_PATH):
        raise CitizenLoginError(f"the super-app did not open a session (answer {landed.status_code}: {landed.text})")
