"""The identity service's signing key rotates; tokens signed before stay valid until they expire."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from identity.app import create_app
from identity.settings import Settings
from kernel.access import audience_of
from kernel.keys import RETIRED_DIR, rotate_signing_key
from kernel.regime import Regime
from kernel.tokens import AccessTokenVerifier, InvalidAccessToken
from tests.fixtures.mesh import Mesh
from tests.fixtures.tokens import mint


async def jwks_of(app) -> dict:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity") as client,
    ):
        return (await client.get("/.well-known/jwks.json")).json()


def verifier_for(app, jwks: dict) -> AccessTokenVerifier:
    async def fetch() -> dict:
        return jwks

    return AccessTokenVerifier(
        issuer=app.state.service.settings.public_url, audience=audience_of("fines"), fetch_jwks=fetch
    )


async def test_a_rotated_key_stays_published_until_its_tokens_expire(tmp_path):
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh:
        before = mesh.apps["identity"]
        old_token, old_kid = mint(mesh), before.state.service.signing_key.kid
    settings: Settings = before.state.service.settings

    rotate_signing_key(settings.keys_dir)
    restarted = create_app(settings)
    new_kid = restarted.state.service.signing_key.kid
    assert new_kid != old_kid
    published = await jwks_of(restarted)
    assert {key["kid"] for key in published["keys"]} == {old_kid, new_kid}
    await verifier_for(restarted, published).verify(old_token)  # still valid: it has not expired

    retired_file = settings.keys_dir / RETIRED_DIR / f"{old_kid}.pem"
    long_ago = time.time() - settings.longest_token_lifetime_seconds - 3600
    os.utime(retired_file, (long_ago, long_ago))
    published = await jwks_of(restarted)
    assert [key["kid"] for key in published["keys"]] == [new_kid]
    with pytest.raises(InvalidAccessToken):
        await verifier_for(restarted, published).verify(old_token)


def test_the_key_rotates_at_start_once_it_is_older_than_the_setting(tmp_path):
    settings = Settings(data_dir=tmp_path / "identity", signing_key_rotation_days=1)
    first = create_app(settings).state.service.signing_key.kid
    assert create_app(settings).state.service.signing_key.kid == first  # young: kept
    key_file = settings.keys_dir / "signing-key.pem"
    two_days_ago = time.time() - 2 * 86400
    os.utime(key_file, (two_days_ago, two_days_ago))
    rotated = create_app(settings).state.service.signing_key.kid
    assert rotated != first
    assert (settings.keys_dir / RETIRED_DIR / f"{first}.pem").exists()
    assert oct(os.stat(settings.keys_dir / RETIRED_DIR / f"{first}.pem").st_mode & 0o777) == "0o600"
