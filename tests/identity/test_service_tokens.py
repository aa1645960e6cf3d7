"""Service-to-service authentication: issuing tokens (identity) and refusing bad ones (every callee)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import quote

import jwt as pyjwt  # an independent JOSE implementation, to check what Authlib/joserfc issued
import pytest
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from kernel.access import audience_of
from kernel.client import CLIENT_ASSERTION_TYPE, JWKS_PATH, TOKEN_PATH
from kernel.keys import public_jwks, service_jwks
from kernel.regime import Regime
from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import mint

FINES_PATH = f"/vehicles/{quote(str(DEMO_PLATE))}/fines"


def assertion(mesh: Mesh, client: str, key: ECKey | None = None, **claims) -> str:
    token_endpoint = mesh.urls["identity"] + TOKEN_PATH
    signing_key = key or mesh.apps[client].state.service.signing_key
    return private_key_jwt_sign(signing_key, client, token_endpoint, alg="ES256", claims=claims or None, expires_in=60)


async def request_token(mesh: Mesh, form: dict) -> tuple[int, dict]:
    async with mesh.client("identity") as identity:
        response = await identity.post(TOKEN_PATH, data=form)
    return response.status_code, response.json()


def token_form(mesh: Mesh, client: str = "gateway", scope: str = "fines:read fines:pay", **overrides) -> dict:
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "resource": audience_of("fines"),
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion(mesh, client),
    }
    form.update(overrides)
    return form


async def call_fines(mesh: Mesh, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with mesh.client("fines") as fines:
        return await fines.get(FINES_PATH, headers=headers)


# --- issuing -------------------------------------------------------------------------------------


async def test_identity_issues_an_rfc9068_token_that_an_independent_library_verifies(rights):
    status, body = await request_token(rights, token_form(rights))
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["scope"] == "fines:read fines:pay"
    assert 0 < body["expires_in"] <= 300

    async with rights.client("identity") as identity:
        jwks = (await identity.get(JWKS_PATH)).json()
    header = pyjwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    key = pyjwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = pyjwt.decode(
        body["access_token"],
        key.key,
        algorithms=["ES256"],
        audience=audience_of("fines"),
        issuer=rights.urls["identity"],
    )
    assert claims["client_id"] == claims["sub"] == "gateway"
    assert claims["exp"] - claims["iat"] == 300
    assert all("d" not in published for published in jwks["keys"])  # no private parts


async def test_identity_serves_rfc8414_metadata(rights):
    async with rights.client("identity") as identity:
        metadata = (await identity.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == rights.urls["identity"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert metadata["grant_types_supported"] == ["client_credentials"]


async def test_an_unknown_client_is_refused(rights):
    intruder = ECKey.generate_key("P-256", private=True)
    form = token_form(
        rights,
        client_assertion=private_key_jwt_sign(
            intruder, "intruder", rights.urls["identity"] + TOKEN_PATH, alg="ES256", expires_in=60
        ),
    )
    status, body = await request_token(rights, form)
    assert (status, body["error"]) == (400, "invalid_client")
    assert body["status"] == 400 and body["type"] == "urn:ietf:params:oauth:error:invalid_client"


async def test_an_assertion_signed_with_another_key_is_refused(rights):
    forged = assertion(rights, "gateway", key=ECKey.generate_key("P-256", private=True))
    status, body = await request_token(rights, token_form(rights, client_assertion=forged))
    assert (status, body["error"]) == (400, "invalid_client")


async def test_a_replayed_assertion_is_refused(rights):
    form = token_form(rights)
    assert (await request_token(rights, form))[0] == 200
    status, body = await request_token(rights, form)
    assert (status, body["error"]) == (400, "invalid_client")
    assert "used" in body["error_description"]


async def test_an_assertion_for_another_audience_is_refused(rights):
    wrong = private_key_jwt_sign(
        rights.apps["gateway"].state.service.signing_key,
        "gateway",
        "http://elsewhere/token",
        alg="ES256",
        expires_in=60,
    )
    status, body = await request_token(rights, token_form(rights, client_assertion=wrong))
    assert (status, body["error"]) == (400, "invalid_client")


async def test_an_assertion_that_lives_too_long_is_refused(rights):
    long_lived = assertion(rights, "gateway", exp=int(time.time()) + 3600)
    status, body = await request_token(rights, token_form(rights, client_assertion=long_lived))
    assert (status, body["error"]) == (400, "invalid_client")


@pytest.mark.parametrize(
    ("client", "scope", "error"),
    [
        ("fines", "fines:read", "invalid_scope"),  # fines may not call itself
        ("gateway", "fines:delete", "invalid_scope"),  # no such permission
        ("gateway", "", "invalid_scope"),  # none named
    ],
)
async def test_permissions_outside_the_access_policy_are_not_issued(rights, client, scope, error):
    status, body = await request_token(rights, token_form(rights, client=client, scope=scope))
    assert (status, body["error"]) == (400, error), body


async def test_a_resource_that_does_not_match_the_scope_is_refused(rights):
    status, body = await request_token(rights, token_form(rights, resource=audience_of("appointments")))
    assert (status, body["error"]) == (400, "invalid_target")


async def test_only_the_client_credentials_grant_is_offered(rights):
    status, body = await request_token(rights, token_form(rights, grant_type="password"))
    assert (status, body["error"]) == (400, "unsupported_grant_type")


async def test_a_refused_request_writes_no_issued_token(rights):
    from sqlmodel import select

    from identity.models import IssuedAccessToken

    gateways = select(IssuedAccessToken).where(IssuedAccessToken.client_id == "gateway")
    await request_token(rights, token_form(rights, scope="fines:delete"))
    with rights.apps["identity"].state.service.database.session() as session:
        assert session.exec(gateways).all() == []
    await request_token(rights, token_form(rights))
    with rights.apps["identity"].state.service.database.session() as session:
        issued = session.exec(gateways).all()
    assert [(row.client_id, row.audience, row.scope) for row in issued] == [
        ("gateway", audience_of("fines"), "fines:read fines:pay")
    ]


# --- verifying, at the callee --------------------------------------------------------------------


async def test_a_valid_token_is_accepted(rights):
    response = await call_fines(rights, mint(rights))
    assert response.status_code == 200, response.text


async def test_no_token_is_401(rights):
    assert_problem(await call_fines(rights, None), 401, "unauthenticated")


async def test_garbage_is_401(rights):
    assert_problem(await call_fines(rights, "not-a-jwt"), 401, "invalid-token")


async def test_a_token_signed_by_another_key_is_401(rights):
    impostor = ECKey.generate_key("P-256", private=True)
    assert_problem(await call_fines(rights, mint(rights, key=impostor)), 401, "invalid-token")


async def test_a_token_signed_by_another_key_under_the_issuers_kid_is_401(rights):
    impostor = ECKey.import_key(
        ECKey.generate_key("P-256", private=True).as_dict(private=True),
        {"kid": rights.apps["identity"].state.service.signing_key.kid},
    )
    assert_problem(await call_fines(rights, mint(rights, key=impostor)), 401, "invalid-token")


async def test_alg_none_is_401(rights):
    claims = pyjwt.decode(mint(rights), options={"verify_signature": False})
    unsigned = pyjwt.encode(claims, None, algorithm="none", headers={"typ": "at+jwt"})  # type: ignore[arg-type]  # unsigned on purpose
    body = assert_problem(await call_fines(rights, unsigned), 401, "invalid-token")
    assert "algorithm" in body["detail"]


async def test_hs256_signed_with_the_public_key_is_401(rights):
    claims = pyjwt.decode(mint(rights), options={"verify_signature": False})
    public_pem = rights.apps["identity"].state.service.signing_key.as_pem(private=False)
    # Built by hand: JOSE libraries (rightly) refuse to use a public key as an HMAC secret.
    signing_input = (
        f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'at+jwt'}).encode())}.{_b64(json.dumps(claims).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{_b64(signature)}"
    assert_problem(await call_fines(rights, confused), 401, "invalid-token")


async def test_an_expired_token_is_401(rights):
    body = assert_problem(await call_fines(rights, mint(rights, ttl=-60)), 401, "invalid-token")
    assert "expired" in body["detail"]


async def test_a_token_for_another_service_is_401(rights):
    wrong_audience = mint(rights, audience=audience_of("appointments"))
    body = assert_problem(await call_fines(rights, wrong_audience), 401, "invalid-token")
    assert "aud" in body["detail"]


async def test_a_token_from_the_other_regimes_identity_is_401(rights, tmp_path):
    async with Mesh(Regime.PLATFORM, tmp_path / "other") as platform:
        from_platform = mint(platform)
    assert_problem(await call_fines(rights, from_platform), 401, "invalid-token")


async def test_an_id_token_shaped_jwt_is_not_an_access_token(rights):
    claims = pyjwt.decode(mint(rights), options={"verify_signature": False})
    as_id_token = jwt.encode(
        {"alg": "ES256", "typ": "JWT"}, claims, KeySet([rights.apps["identity"].state.service.signing_key])
    )
    assert_problem(await call_fines(rights, as_id_token), 401, "invalid-token")


async def test_a_caller_the_policy_does_not_list_is_403_even_with_the_scope_in_its_token(rights):
    body = assert_problem(await call_fines(rights, mint(rights, client="appointments")), 403, "forbidden-caller")
    assert body["required_permission"] == "fines:read"


async def test_a_token_without_the_endpoints_permission_is_403(rights):
    response = await call_fines(rights, mint(rights, scope="fines:pay"))
    assert_problem(response, 403, "forbidden-caller")
    assert "insufficient_scope" in response.headers["www-authenticate"]


async def test_every_service_publishes_only_its_public_key(rights):
    for name, app in rights.apps.items():
        async with rights.client(name) as client:
            jwks = (await client.get(JWKS_PATH)).json()
        # the identity service: its token-signing keys; every other service: its signing key and
        # its courier encryption key (kernel/courier.py), each marked with its one use
        expected = (
            public_jwks(app.state.service.signing_key)
            if name == "identity"
            else service_jwks(app.state.service.signing_key, app.state.service.encryption_key)
        )
        assert jwks == expected, name
        assert all("d" not in key for key in jwks["keys"])


async def test_the_gateway_reuses_its_cached_token(rights):
    from sqlmodel import select

    from identity.models import IssuedAccessToken

    async with rights.client("gateway") as gateway:
        for _ in range(3):
            assert (await gateway.get(f"/demo{FINES_PATH}")).status_code == 200
    with rights.apps["identity"].state.service.database.session() as session:
        assert len(session.exec(select(IssuedAccessToken).where(IssuedAccessToken.client_id == "gateway")).all()) == 1


def _b64(data: bytes) -> str:
    from base64 import urlsafe_b64encode

    return urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_token_request_over_plain_http_off_loopback_is_an_oauth_error_not_a_500(rights, monkeypatch):
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    form = token_form(rights)
    async with rights.client("identity") as identity:
        response = await identity.post(TOKEN_PATH, data=form, headers={"Host": "identity.example:8201"})
    assert response.status_code == 400
    assert response.json()["error"] == "insecure_transport"
