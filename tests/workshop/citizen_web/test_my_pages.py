"""The my-data and id-card pages of the rights phone as served (no browser), and what the identity
provider opens to the web app's origin for the ID card: its own bearer token, from that origin only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from kernel.personas import DEMO_PASSWORD
from kernel.sd_jwt import present
from tests.fixtures.citizen_web import CITIZEN_WEB_ORIGIN, OTHER_ORIGIN, citizen_web_mesh
from tests.fixtures.logins import CAR_OWNER
from tests.fixtures.mesh import Mesh
from workshop.citizen_app import AppAuthorization, redeem, sign_in
from workshop.citizen_web.app import create_app
from workshop.citizen_web.settings import Settings

BAR = "https://bar.example"


async def served(settings: Settings, path: str) -> httpx.Response:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.origin) as client:
        return await client.get(path)


@pytest.mark.parametrize("key", ["my-data", "id-card"])
async def test_each_journey_is_a_page_and_a_module_under_the_apps_policy(key):
    settings = Settings(gateway_url="http://127.0.0.1:9600", departments={"consent": 'http://127.0.0.1:9602/"><x'})
    answer = await served(settings, f"/journeys/{key}?persona=wang-fang")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["referrer-policy"] == "no-referrer"  # a login's code may be in its address
    assert answer.headers["cache-control"] == "no-store"
    page = answer.text
    assert f'<script type="module" src="/static/journeys/{key}.js"></script>' in page
    assert page.count("<script") == 1 and " on" + "click=" not in page
    assert "<x" not in page and "&#34;consent&#34;" in page  # the services it talks to, escaped


async def test_an_unknown_journey_is_no_page():
    assert (await served(Settings(), "/journeys/nothing")).status_code == 404


@pytest.mark.parametrize(
    "script",
    ["merkle.js", "ledger.js", "sd_jwt.js", "journeys/device.js", "journeys/my-data.js", "journeys/id-card.js"],
)
async def test_the_modules_are_served_as_javascript(script):
    answer = await served(Settings(), f"/static/{script}")
    assert answer.status_code == 200
    assert "javascript" in answer.headers["content-type"]


# --- the ID card from the web app's origin ------------------------------------------------------------


@pytest.fixture
async def mesh(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Any:
    async with citizen_web_mesh(monkeypatch, tmp_path) as running:
        yield running


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,traceparent",
    }


@pytest.mark.parametrize("path", ["/credentials/id-card", "/credentials/verify"])
async def test_identity_opens_the_id_card_to_the_web_apps_origin_only(mesh: Mesh, path):
    async with mesh.client("identity") as identity:
        allowed = await identity.options(path, headers=preflight(CITIZEN_WEB_ORIGIN))
        other = await identity.options(path, headers=preflight(OTHER_ORIGIN))
        evil = await identity.options(path, headers=preflight("http://evil.example"))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers  # a bearer token, never cookies
    for answer in (other, evil):
        assert "access-control-allow-origin" not in answer.headers


async def test_the_bearer_header_is_opened_on_the_id_card_only(mesh: Mesh):
    async with mesh.client("identity") as identity:
        userinfo = await identity.options("/userinfo", headers=preflight(CITIZEN_WEB_ORIGIN))
        token = await identity.options("/oauth2/token", headers=preflight(CITIZEN_WEB_ORIGIN))
    assert "access-control-allow-origin" not in userinfo.headers
    assert "authorization" not in token.headers.get("access-control-allow-headers", "").lower()


async def test_the_web_app_fetches_its_card_and_the_bar_sees_over_18_only(mesh: Mesh):
    auth = AppAuthorization.for_service("identity", redirect_uri=f"{CITIZEN_WEB_ORIGIN}/callback")
    async with mesh.client("identity") as identity:
        code = await sign_in(identity, auth, username=CAR_OWNER.handle, password=DEMO_PASSWORD)
        identity.headers["origin"] = CITIZEN_WEB_ORIGIN
        token = (await redeem(identity, auth, code)).json()["access_token"]
        device_key = ECKey.generate_key("P-256", private=True)
        card = await identity.post(
            "/credentials/id-card",
            json={"holder_jwk": device_key.as_dict(private=False)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert card.status_code == 200, card.text
        assert card.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN
        presentation = present(
            card.json()["credential"], disclose={"age_over_18"}, holder_key=device_key, audience=BAR, nonce="n-1"
        )
        checked = await identity.post(
            "/credentials/verify", json={"presentation": presentation, "audience": BAR, "nonce": "n-1"}
        )
    assert checked.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN
    assert checked.json()["disclosed"] == {"age_over_18": True}
