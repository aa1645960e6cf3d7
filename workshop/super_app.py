"""A persona logging in to the super-app over plain HTTP, as their browser would.

The gateway is the relying party: ``GET /login`` sends the browser to the identity service,
whose pages are answered (``workshop.citizen_app.through_login_pages``), and the callback leaves
the gateway's session cookie in ``browser``'s cookie jar; every later call with ``browser`` is
the logged-in citizen. On the platform a first login lands on the user agreement, which is
agreed to (as the persona would tap "Agree"); the version agreed to is returned.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from workshop.citizen_app import CitizenLoginError, through_login_pages

AFTER_LOGIN_PATH = "/me"
AGREEMENT_PATH = "/user-agreement"


async def log_in_to_super_app(
    browser: httpx.AsyncClient,
    gateway_url: str,
    *,
    username: str,
    password: str,
    totp_code: Callable[[], str] | None = None,
) -> str | None:
    first = await browser.get(gateway_url + "/login", follow_redirects=False)
    callback = await through_login_pages(
        browser,
        first,
        arrived=lambda url: url.startswith(gateway_url + "/auth/callback"),
        username=username,
        password=password,
        totp_code=totp_code,
    )
    landed = await browser.get(callback, follow_redirects=False)
    where = landed.headers.get("location") if landed.is_redirect else None
    if where not in (AFTER_LOGIN_PATH, AGREEMENT_PATH):
        raise CitizenLoginError(f"the super-app did not open a session (answer {landed.status_code}: {landed.text})")
    if where == AFTER_LOGIN_PATH:
        return None
    shown = await browser.get(gateway_url + AGREEMENT_PATH, headers={"Accept": "application/json"})
    version = shown.json().get("version") if shown.status_code == 200 else None
    agreed = await browser.post(gateway_url + AGREEMENT_PATH, json={"version": version})
    if agreed.status_code != 200:
        raise CitizenLoginError(f"the user agreement was not accepted (answer {agreed.status_code}: {agreed.text})")
    return version
