"""Cross-site request forgery at the super-app: every service runs on one host, so they are all
*same-site* to each other and SameSite=Lax alone does not stop a page served by one of them (a
pod's HTML) from posting with the gateway's session cookie. The gateway checks where a
state-changing request comes from."""

from __future__ import annotations

import re
from contextlib import aclosing

import httpx
import pytest
from fastapi import Response

from kernel.demo_reset import RESET_PATH
from kernel.regime import Regime
from superapp_gateway.sessions import STATE_CHANGING_METHODS, set_browser_cookie
from superapp_gateway.settings import Settings
from tests.fixtures.logins import browser_login
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.problems import assert_problem

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]

# what a form on a page from the pod (same host, another port) makes a browser send
FROM_THE_POD = {"sec-fetch-site": "same-site"}


def state_changing_routes(mesh) -> list[tuple[str, str]]:
    """Every state-changing operation the gateway has (from its OpenAPI), path parameters filled in;
    but the demo reset, which only the operator's Authorization header opens (no cookie rides on it)."""
    paths = mesh.apps["gateway"].openapi()["paths"]
    return sorted(
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in paths.items()
        for method in operations
        if method.upper() in STATE_CHANGING_METHODS and path != RESET_PATH
    )


async def logged_in_browser(mesh) -> httpx.AsyncClient:
    browser = httpx.AsyncClient(transport=mesh.transport, follow_redirects=True)
    assert (await browser_login(mesh, browser=browser)).status_code == 200
    browser.follow_redirects = False
    return browser


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-site"},  # a page on another port of the same host
        {"sec-fetch-site": "cross-site"},
        {"origin": "ORIGIN_OF_THE_POD"},  # a browser without Sec-Fetch-*: its Origin says it
        {"origin": "null"},  # a sandboxed page
        {"sec-fetch-site": "same-origin", "origin": "ORIGIN_OF_THE_POD"},  # the two disagree: refused
    ],
    ids=["same-site", "cross-site", "other-origin", "null-origin", "disagreeing"],
)
async def test_no_state_changing_request_with_the_cookie_from_another_origin(mesh, headers):
    pod = mesh.urls.get("pod", "http://127.0.0.1:1")
    headers = {name: value.replace("ORIGIN_OF_THE_POD", pod) for name, value in headers.items()}
    browser = await logged_in_browser(mesh)
    routes = state_changing_routes(mesh)
    assert ("POST", "/wallet/payments") in routes
    async with aclosing(browser):
        for method, path in routes:
            forged = await browser.request(
                method, mesh.urls["gateway"] + path, json={}, headers=headers | {"Idempotency-Key": "k"}
            )
            assert_problem(forged, 403, "cross-origin-request")


async def test_the_gateways_own_pages_and_programs_are_not_refused(mesh):
    browser = await logged_in_browser(mesh)
    gateway = mesh.urls["gateway"]
    own_page = {"sec-fetch-site": "same-origin", "origin": gateway}
    async with aclosing(browser):
        for headers in (own_page, {"origin": gateway}, {"sec-fetch-site": "same-origin"}, {}):
            payment = await browser.post(
                gateway + "/wallet/payments",
                json={"payee": "fines", "reference": "no-such-fine", "amount_cents": 1},
                headers=headers | {"Idempotency-Key": f"k-{len(headers)}-{sorted(headers)}"},
            )
            assert payment.status_code != 403, payment.text
        # a bearer is not something a browser sends by itself: its origin does not matter
        [cookie] = [value for name, value in browser.cookies.items() if name.startswith("citygate_gateway_")]
    async with httpx.AsyncClient(transport=mesh.transport) as program:
        shown = await program.post(
            gateway + "/wallet/payments",
            json={"payee": "fines", "reference": "no-such-fine", "amount_cents": 1},
            headers=FROM_THE_POD | {"Authorization": f"Bearer {cookie}", "Idempotency-Key": "bearer"},
        )
        assert shown.status_code != 403, shown.text
        # without a session it is the usual 401, not a hint about origins
        assert_problem(
            await program.post(gateway + "/wallet/payments", json={}, headers=FROM_THE_POD), 401, "not-logged-in"
        )


@pytest.mark.parametrize(
    ("browser_url", "name", "secure"),
    [
        ("https://gateway.example", "__Host-citygate_gateway_rights", True),
        ("http://127.0.0.1:8400", "citygate_gateway_rights", False),
    ],
)
def test_the_session_cookie_is_host_only_and_secure_under_https(browser_url, name, secure, tmp_path):
    settings = Settings(regime=Regime.RIGHTS, data_dir=tmp_path, browser_url=browser_url)
    response = Response()
    set_browser_cookie(response, settings, "gateway", "v", 60)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{name}=v;") and "Path=/" in cookie and "Domain" not in cookie
    assert ("Secure" in cookie) is secure and "HttpOnly" in cookie and "SameSite=lax" in cookie
