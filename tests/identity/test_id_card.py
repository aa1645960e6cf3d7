"""Journey 4's identity side: the digital ID card, shown whole (platform) or selectively (rights)."""

from __future__ import annotations

import httpx
import pytest
from joserfc.jwk import ECKey

from kernel.personas import by_handle
from kernel.regime import Regime
from kernel.sd_jwt import present
from tests.fixtures.mesh import Mesh
from tests.fixtures.oidc_rp import RelyingParty, sign_in
from tests.fixtures.problems import assert_problem

VERIFIER = "https://bar.example"


async def card_for(mesh: Mesh, handle: str, device_key: ECKey) -> dict:
    rp = RelyingParty(mesh, "gateway")
    auth, response = await sign_in(rp, "openid", persona=by_handle(handle))
    token = (await rp.exchange(await rp.code_from(response, auth), auth.verifier)).json()["access_token"]
    async with mesh.client("identity") as client:
        issued = await client.post(
            "/credentials/id-card",
            json={"holder_jwk": device_key.as_dict(private=False)},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert issued.status_code == 200, issued.text
    return issued.json()


async def verify(mesh: Mesh, presentation: str, nonce: str = "n-1") -> httpx.Response:
    async with mesh.client("identity") as client:
        return await client.post(
            "/credentials/verify", json={"presentation": presentation, "audience": VERIFIER, "nonce": nonce}
        )


@pytest.fixture
def device_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


async def test_rights_the_holder_proves_over_18_and_residence_without_name_or_birthdate(tmp_path, device_key):
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh:
        card = await card_for(mesh, "li-wei", device_key)
        assert set(card["disclosable"]) == {"name", "birthdate", "resident_of", "age_over_18", "nationality"}
        shown = present(
            card["credential"],
            disclose={"age_over_18", "resident_of"},
            holder_key=device_key,
            audience=VERIFIER,
            nonce="n-1",
        )
        checked = await verify(mesh, shown)
    assert checked.status_code == 200, checked.text
    assert checked.json()["disclosed"] == {"age_over_18": True, "resident_of": "Guangzhou"}
    persona = by_handle("li-wei")
    for secret in (persona.name, persona.birth_date.isoformat(), persona.resident_id):
        assert secret not in shown


async def test_rights_the_minor_proves_nothing_false(tmp_path, device_key):
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh:
        card = await card_for(mesh, "liu-yang", device_key)
        shown = present(
            card["credential"], disclose={"age_over_18"}, holder_key=device_key, audience=VERIFIER, nonce="n-1"
        )
        checked = await verify(mesh, shown)
    assert checked.json()["disclosed"] == {"age_over_18": False}


async def test_platform_the_card_is_always_shown_whole(tmp_path, device_key):
    async with Mesh(Regime.PLATFORM, tmp_path) as mesh:
        card = await card_for(mesh, "li-wei", device_key)
        assert card["disclosable"] == []
        shown = present(card["credential"], disclose=set(), holder_key=device_key, audience=VERIFIER, nonce="n-1")
        checked = await verify(mesh, shown)
    disclosed = checked.json()["disclosed"]
    assert disclosed["resident_id"] == by_handle("li-wei").resident_id
    assert {"name", "birthdate", "address"} <= set(disclosed)


async def test_a_presentation_for_another_verifier_or_nonce_is_refused(tmp_path, device_key):
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh:
        card = await card_for(mesh, "li-wei", device_key)
        shown = present(
            card["credential"], disclose={"age_over_18"}, holder_key=device_key, audience=VERIFIER, nonce="n-1"
        )
        assert_problem(await verify(mesh, shown, nonce="n-2"), 400, "invalid-presentation")
        stolen = (
            present(
                card["credential"], disclose={"age_over_18"}, holder_key=device_key, audience=VERIFIER, nonce="n-1"
            ).rsplit("~", 1)[0]
            + "~"
        )  # key binding stripped
        assert_problem(await verify(mesh, stolen), 400, "invalid-presentation")


async def test_a_card_needs_a_citizen_token_and_a_usable_key(tmp_path):
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh, mesh.client("identity") as client:
        assert_problem(await client.post("/credentials/id-card", json={"holder_jwk": {}}), 401, "unauthenticated")
        rp = RelyingParty(mesh, "gateway")
        auth, response = await sign_in(rp, "openid")
        token = (await rp.exchange(await rp.code_from(response, auth), auth.verifier)).json()["access_token"]
        refused = await client.post(
            "/credentials/id-card",
            json={"holder_jwk": {"kty": "oct", "k": "AAAA"}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert_problem(refused, 422, "invalid-holder-key")
