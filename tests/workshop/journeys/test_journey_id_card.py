"""Journey 4, show the digital ID card, in both regimes (in-process mesh): the super-app holds the card
and shows it whole (platform), or the citizen's device holds it and proves only "over 18" (rights)."""

from __future__ import annotations

from contextlib import aclosing

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlmodel import select

from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from kernel.sd_jwt import present
from superapp_gateway.models import HostedIdCard
from tests.fixtures.logins import super_app
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.problems import assert_problem
from workshop.citizen_app import citizen_token
from workshop.exposure import occurrences, stored_text

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]

CITIZEN = by_handle("li-wei")
MINOR = by_handle("liu-yang")
VERIFIER = "https://bar.example"


async def verify(mesh, presentation: str, nonce: str) -> httpx.Response:
    async with mesh.client("identity") as identity:
        return await identity.post(
            "/credentials/verify", json={"presentation": presentation, "audience": VERIFIER, "nonce": nonce}
        )


async def device_card(mesh, handle: str, device_key: ECKey) -> dict:
    """The citizen's app: its own token for the identity service, then the card bound to its key."""
    async with mesh.client("identity") as identity:
        token = (
            await citizen_token(identity, username=handle, password=DEMO_PASSWORD, resource_service="identity")
        ).access_token
        issued = await identity.post(
            "/credentials/id-card",
            json={"holder_jwk": device_key.as_dict(private=False)},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert issued.status_code == 200, issued.text
    return issued.json()


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_the_super_app_holds_the_card_and_shows_it_whole(mesh):
    async with aclosing(await super_app(mesh)) as browser:
        shown = await browser.post("/city-services/id-card/presentations", json={"audience": VERIFIER, "nonce": "n-1"})
        assert shown.status_code == 201, shown.text
        checked = await verify(mesh, shown.json()["presentation"], "n-1")
        assert checked.status_code == 200, checked.text
        disclosed = checked.json()["disclosed"]
        assert {k: disclosed[k] for k in ("name", "resident_id", "birthdate", "address")} == {
            "name": CITIZEN.name,
            "resident_id": CITIZEN.resident_id,
            "birthdate": CITIZEN.birth_date.isoformat(),
            "address": CITIZEN.address,
        }
        # a second verifier: the same hosted card (not fetched again), a fresh key binding
        again = await browser.post("/city-services/id-card/presentations", json={"audience": VERIFIER, "nonce": "n-2"})
        assert again.status_code == 201, again.text
        assert (await verify(mesh, again.json()["presentation"], "n-2")).status_code == 200
        # replayed with another nonce: refused
        assert_problem(await verify(mesh, shown.json()["presentation"], "n-2"), 400, "invalid-presentation")
        history = (await browser.get("/me/history")).json()
        assert [e["event"] for e in history if e["journey"] == "id-card"] == ["showed my ID card"] * 2
        assert history[-1]["details"]["audience"] == VERIFIER
    with mesh.apps["gateway"].state.service.database.session() as session:
        (hosted,) = session.exec(select(HostedIdCard)).all()
    assert hosted.subject == CITIZEN.resident_id
    assert hosted.identity_access_token and hosted.holder_key and hosted.credential
    assert '"d"' in hosted.holder_key  # the platform holds the private key the card is bound to


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_the_device_proves_only_over_18_and_the_super_app_learns_nothing(mesh):
    async with aclosing(await super_app(mesh)) as browser:
        assert_problem(
            await browser.post("/city-services/id-card/presentations", json={"audience": VERIFIER, "nonce": "n-1"}),
            403,
            "card-on-your-device",
        )
        assert (await browser.get("/me/history")).json() == []
    device_key = ECKey.generate_key("P-256", private=True)
    card = await device_card(mesh, CITIZEN.handle, device_key)
    shown = present(card["credential"], disclose={"age_over_18"}, holder_key=device_key, audience=VERIFIER, nonce="n-1")
    checked = await verify(mesh, shown, "n-1")
    assert checked.status_code == 200, checked.text
    assert checked.json()["disclosed"] == {"age_over_18": True}
    for secret in (CITIZEN.name, CITIZEN.birth_date.isoformat(), CITIZEN.resident_id):
        assert secret not in shown
    # replayed to the same verifier with another nonce: refused
    assert_problem(await verify(mesh, shown, "n-2"), 400, "invalid-presentation")
    # the super-app kept no token and no card, and none of the card's contents
    with mesh.apps["gateway"].state.service.database.session() as session:
        assert session.exec(select(HostedIdCard)).all() == []
    gateway = {"gateway": stored_text(mesh.apps["gateway"].state.service.database.engine)}
    assert occurrences(gateway, [CITIZEN.resident_id, CITIZEN.birth_date.isoformat()]) == []


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_the_minor_proves_over_18_false_never_true(mesh):
    device_key = ECKey.generate_key("P-256", private=True)
    card = await device_card(mesh, MINOR.handle, device_key)
    shown = present(card["credential"], disclose={"age_over_18"}, holder_key=device_key, audience=VERIFIER, nonce="n-1")
    checked = await verify(mesh, shown, "n-1")
    assert checked.status_code == 200, checked.text
    assert checked.json()["disclosed"] == {"age_over_18": False}


async def test_no_session_is_401(mesh):
    async with httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"]) as stranger:
        assert_problem(
            await stranger.post("/city-services/id-card/presentations", json={"audience": VERIFIER, "nonce": "n-1"}),
            401,
            "not-logged-in",
        )
