"""The citizen login, end to end, in both profiles: discovery → authorize → login → (step-up) →
(consent) → token → userinfo, verified with a JOSE library independent of the provider's."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from identity.models import AuthorizationCode, BrowserSession, IssuedAccessToken
from identity.policy import EIDAS_HIGH, EIDAS_LOW, EIDAS_SUBSTANTIAL, PLATFORM_ACR
from identity.totp import totp
from kernel.personas import by_handle
from kernel.regime import Regime
from tests.fixtures.mesh import Mesh
from tests.fixtures.oidc_rp import RelyingParty, error_redirect, redeemable, sign_in, tokens_for
from tests.fixtures.problems import assert_problem

CAR_OWNER = by_handle("li-wei")


# --- discovery ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("regime", "subject_type"), [(Regime.PLATFORM, "public"), (Regime.RIGHTS, "pairwise")])
async def test_discovery_describes_the_profile(tmp_path, regime, subject_type):
    async with Mesh(regime, tmp_path) as mesh, mesh.client("identity") as client:
        metadata = (await client.get("/.well-known/openid-configuration")).json()
    assert metadata["issuer"] == mesh.urls["identity"]
    assert metadata["subject_types_supported"] == [subject_type]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert metadata["authorization_endpoint"] == mesh.urls["identity"] + "/authorize"


# --- platform profile --------------------------------------------------------------------------


async def test_platform_every_relying_party_gets_the_resident_id_and_the_full_record(platform):
    for client_id in ("gateway", "fines", "appointments"):
        rp = RelyingParty(platform, client_id)
        auth, response = await sign_in(rp)
        assert response.status_code == 302, "the platform asks no per-service consent"
        body = (await rp.exchange(await rp.code_from(response, auth), auth.verifier)).json()
        claims = await rp.verified_id_token(body["id_token"], auth.params["nonce"])
        assert claims["sub"] == claims["resident_id"] == CAR_OWNER.resident_id
        assert claims["name"] == CAR_OWNER.name and claims["phone_number"] == CAR_OWNER.phone
        assert claims["real_name_verified"] is True
        assert claims["acr"] == PLATFORM_ACR
        async with platform.client("identity") as client:
            info = (await client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})).json()
        assert info["sub"] == CAR_OWNER.resident_id and info["resident_id"] == CAR_OWNER.resident_id


async def test_a_login_hint_naming_someone_else_asks_them_to_log_in_on_the_shared_browser(platform):
    """One browser, two people (a shared phone; the workshop stage switching persona): a hint naming
    the one logged in passes straight through, a hint naming another shows the login page for them."""
    rp = RelyingParty(platform, "gateway")
    await sign_in(rp)  # Li Wei is logged in at the provider in this browser
    same = await rp.authorize(rp.request(login_hint=CAR_OWNER.handle))
    assert same.status_code == 302
    other = await rp.authorize(rp.request(login_hint="chen-jun"))
    assert other.status_code == 200 and "value='chen-jun'" in other.text  # his login, pre-filled
    auth, response = await sign_in(rp, persona=by_handle("chen-jun"), login_hint="chen-jun")
    body = (await rp.exchange(await rp.code_from(response, auth), auth.verifier)).json()
    claims = await rp.verified_id_token(body["id_token"], auth.params["nonce"])
    assert claims["sub"] == by_handle("chen-jun").resident_id


# --- rights profile ----------------------------------------------------------------------------


async def test_rights_the_consent_page_lists_exactly_what_is_released_and_to_whom(rights):
    rp = RelyingParty(rights, "gateway")
    auth = rp.request("openid profile")
    page = await rp.log_in(await rp.authorize(auth), CAR_OWNER.handle)
    assert page.status_code == 200 and "asks to receive" in page.text
    assert "super-app gateway" in page.text and "platform sector" in page.text
    assert "<code>sub</code>" in page.text and "<code>name</code>" in page.text
    for withheld in ("phone_number", "birthdate", "address", "resident"):
        assert withheld not in page.text


async def test_rights_releases_a_pairwise_subject_and_only_the_consented_claims(rights):
    body, claims = await tokens_for(RelyingParty(rights, "gateway"), "openid profile")
    assert claims["sub"] != CAR_OWNER.resident_id
    assert claims["name"] == CAR_OWNER.name
    assert claims["acr"] == EIDAS_LOW
    assert not {"resident_id", "phone_number", "birthdate", "address"} & set(claims)
    assert CAR_OWNER.resident_id not in str(claims)
    async with rights.client("identity") as client:
        info = (await client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})).json()
    assert info == {"sub": claims["sub"], "name": CAR_OWNER.name}


async def test_rights_each_sector_sees_a_different_stable_pseudonym(rights):
    subjects = {}
    for client_id in ("gateway", "fines", "appointments"):
        _, claims = await tokens_for(RelyingParty(rights, client_id))
        _, again = await tokens_for(RelyingParty(rights, client_id))
        assert again["sub"] == claims["sub"], "stable within a sector"
        subjects[client_id] = claims["sub"]
    assert len(set(subjects.values())) == 3, subjects
    assert CAR_OWNER.resident_id not in subjects.values()


async def test_rights_the_health_sector_steps_the_citizen_up_to_substantial(rights):
    rp = RelyingParty(rights, "prescriptions")
    auth = rp.request("openid")
    page = await rp.log_in(await rp.authorize(auth), CAR_OWNER.handle)
    assert "Six-digit code" in page.text and EIDAS_SUBSTANTIAL in page.text
    wrong = await rp.second_factor(page, "000000" if totp(CAR_OWNER.totp_secret, time.time()) != "000000" else "111111")
    assert wrong.status_code == 401 and "not right" in wrong.text
    page = await rp.second_factor(wrong, totp(CAR_OWNER.totp_secret, time.time()))
    response = await rp.decide(page, "allow")
    body = (await rp.exchange(await rp.code_from(response, auth), auth.verifier)).json()
    claims = await rp.verified_id_token(body["id_token"], auth.params["nonce"])
    assert claims["acr"] == EIDAS_SUBSTANTIAL and set(claims["amr"]) == {"pwd", "otp"}


async def test_rights_a_relying_party_can_require_substantial_with_acr_values(rights):
    _, claims = await tokens_for(RelyingParty(rights, "gateway"), acr_values=EIDAS_SUBSTANTIAL)
    assert claims["acr"] == EIDAS_SUBSTANTIAL


async def test_rights_level_high_cannot_be_reached_and_says_so(rights):
    rp = RelyingParty(rights, "gateway")
    auth = rp.request("openid", acr_values=EIDAS_HIGH)
    response = await rp.log_in(await rp.authorize(auth), CAR_OWNER.handle)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["unmet_authentication_requirements"] and query["state"] == [auth.params["state"]]


async def test_rights_refusing_consent_sends_access_denied_and_no_code(rights):
    rp = RelyingParty(rights, "gateway")
    _auth, response = await sign_in(rp, "openid profile", consent="deny")
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["access_denied"] and "code" not in query
    with rights.apps["identity"].state.service.database.session() as session:
        assert session.exec(select(AuthorizationCode)).all() == []


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None, "code_challenge_method": None},  # no PKCE
        {"code_challenge_method": "plain"},  # plain PKCE
        {"nonce": None},  # no nonce
        {"scope": "profile"},  # not OpenID
        {"scope": "openid fines:read"},  # a service permission
    ],
)
async def test_malformed_authorization_requests_are_sent_back_to_the_client(rights, overrides):
    rp = RelyingParty(rights, "gateway")
    query = await error_redirect(rp, rp.request(**{"scope": "openid", **overrides}))
    assert query["error"][0] in {"invalid_request", "invalid_scope"}, query


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "http://127.0.0.1:8200/auth/callback/../evil"},
        {"redirect_uri": "http://attacker.example/cb"},
        {"client_id": "nobody"},
        {"client_id": "pod"},  # a registered service client, but not a relying party
    ],
)
async def test_requests_that_cannot_be_trusted_to_redirect_are_answered_here(rights, overrides):
    rp = RelyingParty(rights, "gateway")
    response = await rp.authorize(rp.request("openid", **overrides))
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert response.json()["error"] in {"invalid_request", "invalid_client", "unauthorized_client"}


async def test_a_wrong_or_missing_pkce_verifier_is_refused(rights):
    rp = RelyingParty(rights, "gateway")
    _auth, code = await redeemable(rp)
    wrong = await rp.exchange(code, "x" * 50)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    _auth, code = await redeemable(rp)
    missing = await rp.exchange(code, None)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


async def test_a_code_is_single_use(rights):
    rp = RelyingParty(rights, "gateway")
    auth, code = await redeemable(rp)
    assert (await rp.exchange(code, auth.verifier)).status_code == 200
    again = await rp.exchange(code, auth.verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


async def test_concurrent_redemptions_of_one_code_yield_one_token(rights):
    rp = RelyingParty(rights, "gateway")
    auth, code = await redeemable(rp)
    results = await asyncio.gather(*(rp.exchange(code, auth.verifier) for _ in range(10)))
    assert sorted(r.status_code for r in results) == [200] + [400] * 9
    with rights.apps["identity"].state.service.database.session() as session:
        assert (
            len(session.exec(select(IssuedAccessToken).where(col(IssuedAccessToken.citizen_id).is_not(None))).all())
            == 1
        )


async def test_an_expired_code_is_refused(rights):
    rp = RelyingParty(rights, "gateway")
    auth, code = await redeemable(rp)
    with rights.apps["identity"].state.service.database.session() as session:
        session.exec(update(AuthorizationCode).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    refused = await rp.exchange(code, auth.verifier)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


async def test_a_code_is_bound_to_its_client_and_redirect_uri(rights):
    rp = RelyingParty(rights, "gateway")
    auth, code = await redeemable(rp)
    other = RelyingParty(rights, "fines")
    assert (await other.exchange(code, auth.verifier)).json()["error"] == "invalid_grant"
    auth, code = await redeemable(rp)
    moved = await rp.exchange(code, auth.verifier, redirect_uri=rp.redirect_uri + "x")
    assert moved.json()["error"] == "invalid_grant"


async def test_a_code_exchange_needs_the_clients_own_assertion(rights):
    rp = RelyingParty(rights, "gateway")
    auth, code = await redeemable(rp)
    forged = await rp.exchange(code, auth.verifier, client_assertion="e30.e30.")
    assert forged.json()["error"] == "invalid_client"


async def test_a_reused_nonce_is_refused(rights):
    rp = RelyingParty(rights, "gateway")
    auth, _ = await redeemable(rp)
    query = await error_redirect(rp, rp.request("openid", nonce=auth.params["nonce"]))
    assert query["error"] == ["invalid_request"]


async def test_a_wrong_password_logs_nobody_in(rights):
    rp = RelyingParty(rights, "gateway")
    page = await rp.log_in(await rp.authorize(rp.request("openid")), CAR_OWNER.handle, password="guess")
    assert page.status_code == 401 and "Wrong name or password" in page.text
    with rights.apps["identity"].state.service.database.session() as session:
        assert session.exec(select(BrowserSession)).all() == []


async def test_a_login_form_the_provider_did_not_serve_is_not_accepted(rights):
    rp = RelyingParty(rights, "gateway")
    auth = rp.request("openid")
    response = await rp.browser.post(
        "/login",
        data={
            "authorization_request": auth.query,
            "login_nonce": "forged",
            "username": CAR_OWNER.handle,
            "password": CAR_OWNER.password,
        },
    )
    assert response.status_code == 303 and "citygate_idp_rights" not in response.headers.get("set-cookie", "")


async def test_consent_without_the_sessions_csrf_token_is_ignored(rights):
    rp = RelyingParty(rights, "gateway")
    auth = rp.request("openid profile")
    await rp.log_in(await rp.authorize(auth), CAR_OWNER.handle)
    response = await rp.browser.post(
        "/authorize", data={"authorization_request": auth.query, "csrf": "forged", "decision": "allow"}
    )
    assert response.status_code == 303
    with rights.apps["identity"].state.service.database.session() as session:
        assert session.exec(select(AuthorizationCode)).all() == []


async def test_userinfo_refuses_service_tokens_and_missing_tokens(rights):
    async with rights.client("identity") as client:
        assert_problem(await client.get("/userinfo"), 401, "unauthenticated")
        assert_problem(await client.get("/userinfo", headers={"Authorization": "Bearer nope"}), 401, "invalid-token")


async def test_an_expired_client_assertion_is_refused_at_the_code_exchange(rights):
    from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign

    from kernel.client import TOKEN_PATH

    rp = RelyingParty(rights, "gateway")
    auth, code = await redeemable(rp)
    expired = private_key_jwt_sign(
        rights.apps["gateway"].state.service.signing_key,
        "gateway",
        rp.issuer + TOKEN_PATH,
        alg="ES256",
        issued_at=int(time.time()) - 600,
        expires_in=60,
    )
    refused = await rp.exchange(code, auth.verifier, client_assertion=expired)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_client")
    assert (await rp.exchange(code, auth.verifier)).status_code == 200, "a refused client does not burn the code"
