"""Sign-up: on the platform one click-through user agreement is the only consent, and nothing works
before it; the rights regime asks no blanket consent."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from kernel.personas import DEMO_PASSWORD
from kernel.regime import Regime
from kernel.state import state_of
from services.fines.demo import CAR_OWNER
from superapp_gateway import user_agreement
from superapp_gateway.dependencies import GatewayState
from superapp_gateway.models import UserAgreementAcceptance
from superapp_gateway.user_agreement import PLATFORM_VERSION
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.oidc_rp import hidden_fields
from tests.fixtures.problems import assert_problem
from workshop.citizen_app import through_login_pages

pytestmark = [BOTH_BACKENDS]

JSON = {"Accept": "application/json"}


async def landing(mesh, browser: httpx.AsyncClient) -> str:
    """Log in through the identity provider; where the gateway sends the browser after the callback."""
    gateway = mesh.urls["gateway"]
    first = await browser.get(gateway + "/login", follow_redirects=False)
    callback = await through_login_pages(
        browser,
        first,
        arrived=lambda url: url.startswith(gateway + "/auth/callback"),
        username=CAR_OWNER.handle,
        password=DEMO_PASSWORD,
    )
    landed = await browser.get(callback, follow_redirects=False)
    assert landed.status_code == 303, landed.text
    return landed.headers["location"]


def acceptances(mesh) -> list[UserAgreementAcceptance]:
    with state_of(mesh.apps["gateway"], GatewayState).database.session() as session:
        return list(session.exec(select(UserAgreementAcceptance)).all())


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_nothing_works_until_the_citizen_agrees_once(mesh):
    async with httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"]) as browser:
        assert await landing(mesh, browser) == "/user-agreement"
        for path in ("/wallet", "/city-services/fines", "/me/history"):
            refused = assert_problem(await browser.get(path), 403, "agreement-required")
            assert refused["agreement"] == "/user-agreement"
        assert (await browser.get("/me")).status_code == 200  # who am I: allowed

        shown = (await browser.get("/user-agreement", headers=JSON)).json()
        assert (shown["version"], shown["accepted_at"]) == (PLATFORM_VERSION, None)
        assert any("Internet Plus" in clause for clause in shown["clauses"])
        page = await browser.get("/user-agreement")
        assert page.headers["content-type"].startswith("text/html") and "Agree and continue" in page.text
        assert_problem(
            await browser.post("/user-agreement", json={"version": "2019-01"}), 409, "agreement-version-mismatch"
        )
        assert_problem(await browser.post("/user-agreement", json={}), 422, "invalid-request")
        assert acceptances(mesh) == []

        agreed = await browser.post("/user-agreement", data=hidden_fields(page.text), follow_redirects=False)
        assert (agreed.status_code, agreed.headers["location"]) == (303, "/me")
        assert (await browser.get("/wallet")).status_code == 200
        again = await browser.post("/user-agreement", json={"version": PLATFORM_VERSION})
        assert again.status_code == 200 and again.json()["accepted_at"] is not None
        [stored] = acceptances(mesh)
        assert (stored.subject, stored.version) == (CAR_OWNER.resident_id, PLATFORM_VERSION)
        assert "Agree and continue" not in (await browser.get("/user-agreement")).text

    async with httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"]) as later:
        assert await landing(mesh, later) == "/me"  # agreed once: never asked again


@pytest.mark.parametrize("regime", list(Regime))
async def test_agreeing_needs_a_session(mesh):
    async with httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"]) as stranger:
        assert_problem(await stranger.post("/user-agreement", json={"version": PLATFORM_VERSION}), 401, "not-logged-in")
        assert (await stranger.get("/user-agreement", headers=JSON)).json()["accepted_at"] is None


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_no_blanket_consent_is_asked(mesh):
    async with httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"]) as browser:
        assert await landing(mesh, browser) == "/me"
        assert (await browser.get("/wallet")).status_code == 200
        shown = (await browser.get("/user-agreement", headers=JSON)).json()
        assert shown["version"] is None and any("no blanket consent" in clause for clause in shown["clauses"])
        assert_problem(
            await browser.post("/user-agreement", json={"version": PLATFORM_VERSION}), 409, "no-blanket-consent"
        )
    assert acceptances(mesh) == []


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_a_new_version_must_be_agreed_to_again(mesh, monkeypatch):
    async with httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"]) as browser:
        assert await landing(mesh, browser) == "/user-agreement"
        assert (await browser.post("/user-agreement", json={"version": PLATFORM_VERSION})).status_code == 200

        monkeypatch.setattr(user_agreement, "PLATFORM_VERSION", "2099-01")
        assert_problem(await browser.get("/wallet"), 403, "agreement-required")
        assert_problem(
            await browser.post("/user-agreement", json={"version": PLATFORM_VERSION}), 409, "agreement-version-mismatch"
        )
        agreed = await browser.post("/user-agreement", json={"version": "2099-01"})
        assert agreed.status_code == 200 and agreed.json()["version"] == "2099-01"
        assert (await browser.get("/wallet")).status_code == 200
    [stored] = acceptances(mesh)
    assert stored.version == "2099-01"
