"""A citizen logs in to the super-app in a browser: gateway → identity → gateway, real code flow."""

from __future__ import annotations

import json

import httpx
from sqlmodel import select

from identity.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from superapp_gateway.models import CitizenSession, LoginAttempt
from tests.oidc_rp import hidden_fields
from tests.support import assert_problem

CAR_OWNER = by_handle("li-wei")


async def browser_login(mesh, handle: str = CAR_OWNER.handle) -> httpx.Response:
    identity = mesh.urls["identity"]
    async with httpx.AsyncClient(transport=mesh.transport, follow_redirects=True) as browser:
        page = await browser.get(mesh.urls["gateway"] + "/login")
        assert "Log in to continue to <b>the super-app gateway</b>" in page.text
        page = await browser.post(identity + "/login", data=hidden_fields(page.text) | {
            "username": handle, "password": DEMO_PASSWORD})
        if "asks to receive" in page.text:
            page = await browser.post(identity + "/authorize", data=hidden_fields(page.text) | {"decision": "allow"})
        if page.url.path == "/user-agreement":  # the platform's first login: the citizen taps "Agree"
            page = await browser.post(mesh.urls["gateway"] + "/user-agreement", data=hidden_fields(page.text))
        return page


def gateway_sessions(mesh) -> list[CitizenSession]:
    with mesh.apps["gateway"].state.database.session() as session:
        return session.exec(select(CitizenSession)).all()


async def test_the_super_app_learns_what_the_regime_gives_it(mesh):
    page = await browser_login(mesh)
    assert page.status_code == 200, page.text
    assert str(page.url) == mesh.urls["gateway"] + "/me", "the callback URL, with its code, is left at once"
    [stored] = gateway_sessions(mesh)
    claims = json.loads(stored.claims)
    if mesh.regime is Regime.PLATFORM:
        assert stored.subject == CAR_OWNER.resident_id and claims["resident_id"] == CAR_OWNER.resident_id
        assert CAR_OWNER.resident_id in page.text
    else:
        assert stored.subject != CAR_OWNER.resident_id
        assert set(claims) == {"sub", "name", "acr", "amr", "auth_time"}, claims
        assert CAR_OWNER.resident_id not in page.text and CAR_OWNER.phone not in page.text
    assert CAR_OWNER.name in page.text


async def test_a_callback_cannot_be_replayed_or_forged(mesh):
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        assert_problem(await browser.get(mesh.urls["gateway"] + "/auth/callback?state=forged&code=x"), 400,
                       "unknown-login")
    await browser_login(mesh)
    with mesh.apps["gateway"].state.database.session() as session:
        assert session.exec(select(LoginAttempt)).all() == [], "attempts are consumed"


async def test_me_without_a_session_is_401(mesh):
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        assert_problem(await browser.get(mesh.urls["gateway"] + "/me"), 401, "not-logged-in")
