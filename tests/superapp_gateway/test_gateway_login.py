"""A citizen logs in to the super-app in a browser: gateway → identity → gateway, real code flow."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlmodel import delete, select

from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from kernel.state import state_of
from superapp_gateway.dependencies import GatewayState
from superapp_gateway.models import CitizenSession, LoginAttempt
from tests.fixtures.logins import browser_login
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.problems import assert_problem
from workshop.citizen_app import through_login_pages

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]

CAR_OWNER = by_handle("li-wei")
ATTACKER = by_handle("wang-fang")


def gateway_sessions(mesh) -> list[CitizenSession]:
    with state_of(mesh.apps["gateway"], GatewayState).database.session() as session:
        return list(session.exec(select(CitizenSession)).all())


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
        assert_problem(
            await browser.get(mesh.urls["gateway"] + "/auth/callback?state=forged&code=x"), 403, "login-state-mismatch"
        )
    await browser_login(mesh)
    with state_of(mesh.apps["gateway"], GatewayState).database.session() as session:
        assert session.exec(select(LoginAttempt)).all() == [], "attempts are consumed"


async def test_a_state_cookie_without_its_login_is_refused(mesh):
    """The state cookie only binds: the login itself must still be one the gateway started, once."""
    gateway = mesh.urls["gateway"]
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        started = await browser.get(gateway + "/login")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        with state_of(mesh.apps["gateway"], GatewayState).database.session() as session:
            session.exec(delete(LoginAttempt))
            session.commit()
        assert_problem(await browser.get(f"{gateway}/auth/callback?state={state}&code=x"), 400, "unknown-login")


async def test_the_database_keeps_only_a_digest_of_the_session_id(mesh):
    browser = httpx.AsyncClient(transport=mesh.transport, follow_redirects=True)
    assert (await browser_login(mesh, browser=browser)).status_code == 200
    [cookie] = [value for name, value in browser.cookies.items() if name.startswith("citygate_gateway_")]
    [stored] = gateway_sessions(mesh)
    assert cookie not in stored.model_dump_json()
    assert stored.id == hashlib.sha256(cookie.encode()).hexdigest()
    async with httpx.AsyncClient(transport=mesh.transport) as api_client:
        me = await api_client.get(mesh.urls["gateway"] + "/me", headers={"Authorization": f"Bearer {cookie}"})
        assert me.status_code == 200, me.text
        stolen = await api_client.get(mesh.urls["gateway"] + "/me", headers={"Authorization": f"Bearer {stored.id}"})
        assert_problem(stolen, 401, "not-logged-in")


async def test_me_without_a_session_is_401(mesh):
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        assert_problem(await browser.get(mesh.urls["gateway"] + "/me"), 401, "not-logged-in")


async def test_a_callback_for_someone_elses_login_is_refused_in_this_browser(mesh):
    """Login CSRF (RFC 6749 §10.12): the attacker logs in as themselves up to the callback and
    sends its URL to the victim; the victim's browser, which never started that login, gets no session."""
    gateway = mesh.urls["gateway"]
    async with httpx.AsyncClient(transport=mesh.transport) as attacker:
        started = await attacker.get(gateway + "/login")
        callback = await through_login_pages(
            attacker,
            started,
            arrived=lambda url: url.startswith(gateway + "/auth/callback"),
            username=ATTACKER.handle,
            password=DEMO_PASSWORD,
        )
    async with httpx.AsyncClient(transport=mesh.transport) as victim:
        landed = await victim.get(callback)
        assert_problem(landed, 403, "login-state-mismatch")
        assert "set-cookie" not in landed.headers or "citygate_gateway" not in landed.headers["set-cookie"]
        assert not victim.cookies
        # nor while the victim has a login of her own under way (her cookie binds her state only)
        await victim.get(gateway + "/login")
        assert_problem(await victim.get(callback), 403, "login-state-mismatch")
    assert gateway_sessions(mesh) == []


async def test_the_login_state_cookie_is_http_only_short_lived_and_cleared(mesh):
    gateway = mesh.urls["gateway"]
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        started = await browser.get(gateway + "/login")
        cookie = started.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=600" in cookie
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        assert state not in started.headers["set-cookie"], "the cookie holds a hash of the state, not the state"
        callback = await through_login_pages(
            browser,
            started,
            arrived=lambda url: url.startswith(gateway + "/auth/callback"),
            username=CAR_OWNER.handle,
            password=DEMO_PASSWORD,
        )
        landed = await browser.get(callback)
        assert landed.status_code == 303, landed.text
        cleared = [c for c in landed.headers.get_list("set-cookie") if "login_state" in c.split("=")[0]]
        assert cleared and "max-age=0" in cleared[0].lower()
