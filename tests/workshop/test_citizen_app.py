"""The citizen's own app: a public client (RFC 8252) holding tokens for one service (RFC 8707),
with the subject that service's sector knows, checked with a JOSE library independent of the provider's."""

from __future__ import annotations

import time
from typing import Annotated

import httpx
import jwt as pyjwt
import pytest
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from fastapi import Depends
from joserfc.jwk import ECKey
from sqlmodel import select

from identity import policy
from identity.models import AuthorizationCode, Citizen
from identity.pairwise import Sector
from identity.policy import EIDAS_LOW, EIDAS_SUBSTANTIAL, PLATFORM_ACR
from identity.totp import totp
from kernel.access import is_allowed
from kernel.citizens import CITIZEN_APP, CITIZEN_RESOURCES, DEFAULT_CITIZEN_APP_REDIRECT_URI, CurrentCitizen
from kernel.client import CLIENT_ASSERTION_TYPE, JWKS_PATH, TOKEN_PATH
from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from kernel.tokens import RequirePermission, ServiceCaller
from tests.fixtures.logins import app_login
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.mesh import Mesh
from tests.fixtures.oidc_rp import RelyingParty, error_redirect, hidden_fields, redeemable, tokens_for
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import mint
from workshop.citizen_app import (
    AppAuthorization,
    CitizenLoginError,
    citizen_token,
    redeem,
    sign_in,
)

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]

CAR_OWNER = by_handle("li-wei")
CONSENT = "urn:citygate:consent"
IN_RIGHTS = pytest.mark.parametrize("regime", [Regime.RIGHTS], ids=["rights"])


async def app_code(mesh: Mesh, identity: httpx.AsyncClient, auth: AppAuthorization) -> str:
    return await sign_in(identity, auth, username=CAR_OWNER.handle, password=DEMO_PASSWORD)


async def verified_access_token(mesh: Mesh, token: str, audience: str) -> dict:
    async with mesh.client("identity") as identity:
        jwks = (await identity.get(JWKS_PATH)).json()
    header = pyjwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    key = pyjwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"])).key
    return pyjwt.decode(token, key, algorithms=["ES256"], audience=audience, issuer=mesh.urls["identity"])


def citizen_record(mesh: Mesh, handle: str = CAR_OWNER.handle) -> Citizen:
    with mesh.apps["identity"].state.service.database.session() as session:
        return session.exec(select(Citizen).where(Citizen.handle == handle)).one()


# --- the flow -----------------------------------------------------------------------------------


async def test_the_app_holds_a_token_for_the_consent_service_with_that_sectors_subject(mesh):
    before = int(time.time())
    tokens = await app_login(mesh)
    claims = await verified_access_token(mesh, tokens.access_token, CONSENT)
    assert claims["aud"] == CONSENT and claims["client_id"] == CITIZEN_APP
    assert claims["sub"] == tokens.subject and claims["scope"] == "openid"
    assert claims["acr"] == (PLATFORM_ACR if mesh.regime is Regime.PLATFORM else EIDAS_LOW)
    assert before - 5 <= claims["auth_time"] <= int(time.time())
    assert tokens.expires_at.timestamp() == pytest.approx(claims["exp"], abs=5)

    async with mesh.client("identity") as identity:
        jwks = (await identity.get(JWKS_PATH)).json()
    kid = pyjwt.get_unverified_header(tokens.id_token)["kid"]
    id_claims = pyjwt.decode(
        tokens.id_token,
        pyjwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key,
        algorithms=["ES256"],
        audience=CITIZEN_APP,
        issuer=mesh.urls["identity"],
    )
    assert id_claims["sub"] == claims["sub"], "the app sees the citizen as the service it acts at does"

    gateway_body, gateway_login = await tokens_for(RelyingParty(mesh, "gateway"))
    _, fines_login = await tokens_for(RelyingParty(mesh, "fines"))
    gateway_token = await verified_access_token(mesh, gateway_body["access_token"], "urn:citygate:identity")
    assert gateway_token["client_id"] == "gateway", "relying parties' tokens stay the provider's"
    profile = mesh.apps["identity"].state.service.policy
    if mesh.regime is Regime.PLATFORM:
        assert claims["sub"] == CAR_OWNER.resident_id == fines_login["sub"] == gateway_login["sub"]
    else:
        assert CAR_OWNER.resident_id not in (claims["sub"], str(id_claims))
        assert claims["sub"] not in {fines_login["sub"], gateway_login["sub"]}
        assert claims["sub"] == profile.subject_for(citizen_record(mesh), "consent")


def test_every_citizen_resource_has_a_sector():
    assert all(service in policy.SECTOR_OF_CLIENT for service in CITIZEN_RESOURCES)
    assert policy.SECTOR_OF_CLIENT["consent"] is Sector.CONSENT
    assert policy.SECTOR_OF_CLIENT["pod"] is Sector.PERSONAL_DATA


async def test_the_consent_page_says_the_app_will_act_at_the_service_as_the_citizen(mesh):
    auth = AppAuthorization.for_service("consent")
    async with mesh.client("identity") as identity:
        page = await identity.get(f"/authorize?{auth.query}")
        assert "Log in to continue to <b>your own citygate app</b>" in page.text
        fields = dict(hidden_fields(page.text), username=CAR_OWNER.handle, password=DEMO_PASSWORD)
        response = await identity.post("/login", data=fields)
        page = await identity.get("/" + response.headers["location"])
    if mesh.regime is Regime.PLATFORM:
        assert page.status_code == 302, "the platform asks no per-service consent"
        return
    assert page.status_code == 200
    assert "Your app will act at the consent ledger as you." in page.text
    assert "consent sector" in page.text and "<code>sub</code>" in page.text


@IN_RIGHTS
async def test_refusing_the_app_sends_access_denied(mesh):
    async with mesh.client("identity") as identity:
        with pytest.raises(CitizenLoginError) as refused:
            await sign_in(
                identity,
                AppAuthorization.for_service("consent"),
                username=CAR_OWNER.handle,
                password=DEMO_PASSWORD,
                decision="deny",
            )
    assert refused.value.error == "access_denied"


@IN_RIGHTS
async def test_a_service_that_needs_a_second_factor_gets_one(mesh, monkeypatch):
    monkeypatch.setitem(policy.SECTOR_MINIMUM_ACR, Sector.CONSENT, EIDAS_SUBSTANTIAL)
    with pytest.raises(CitizenLoginError, match="second factor"):
        await app_login(mesh)
    tokens = await app_login(mesh, totp_code=lambda: totp(CAR_OWNER.totp_secret, time.time()))
    claims = await verified_access_token(mesh, tokens.access_token, CONSENT)
    assert claims["acr"] == EIDAS_SUBSTANTIAL


async def test_a_wrong_password_gets_no_token(mesh):
    async with mesh.client("identity") as identity:
        with pytest.raises(CitizenLoginError, match="Wrong name or password"):
            await citizen_token(identity, username=CAR_OWNER.handle, password="guess", resource_service="consent")


# --- resource indicators ------------------------------------------------------------------------


async def test_the_app_must_name_exactly_one_citizen_service(mesh):
    for resource in (
        None,  # absent
        "urn:citygate:gateway",  # a service that does not take citizens' tokens
        "https://attacker.example/",  # not ours at all
        [CONSENT, "urn:citygate:pod"],  # more than one
        [CONSENT, CONSENT],
    ):
        async with mesh.client("identity") as identity:
            with pytest.raises(CitizenLoginError) as refused:
                await app_code(mesh, identity, AppAuthorization.for_service("consent", resource=resource))
        assert refused.value.error == "invalid_target", (resource, refused.value)


async def test_the_token_request_may_repeat_the_resource_but_not_change_it(mesh):
    async with mesh.client("identity") as identity:
        auth = AppAuthorization.for_service("consent")
        omitted = await redeem(identity, auth, await app_code(mesh, identity, auth), resource=None)
        assert omitted.status_code == 200, omitted.text
        for other in ("urn:citygate:pod", "urn:citygate:identity"):
            auth = AppAuthorization.for_service("consent")
            changed = await redeem(identity, auth, await app_code(mesh, identity, auth), resource=other)
            assert (changed.status_code, changed.json()["error"]) == (400, "invalid_target")


async def test_a_relying_party_cannot_ask_for_another_services_audience(mesh):
    rp = RelyingParty(mesh, "gateway")
    query = await error_redirect(rp, rp.request("openid", resource=CONSENT))
    assert query["error"] == ["invalid_target"]
    body, _ = await tokens_for(rp, resource="urn:citygate:identity")  # naming the provider itself is fine
    assert (await verified_access_token(mesh, body["access_token"], "urn:citygate:identity"))["client_id"] == "gateway"


# --- a public client, and only that ---------------------------------------------------------------


async def test_the_redirect_uri_must_match_exactly(mesh):
    for uri in (
        "http://127.0.0.1:8765/citizen-app/callback",
        DEFAULT_CITIZEN_APP_REDIRECT_URI + "/x",
        "https://attacker.example/citizen-app/callback",
    ):
        async with mesh.client("identity") as identity:
            auth = AppAuthorization.for_service("consent", redirect_uri=uri)
            response = await identity.get(f"/authorize?{auth.query}")
        assert response.status_code == 400 and "location" not in response.headers, uri


async def test_a_code_for_the_app_is_the_apps_alone(mesh):
    gateway = RelyingParty(mesh, "gateway")
    async with mesh.client("identity") as identity:
        auth = AppAuthorization.for_service("consent")
        code = await app_code(mesh, identity, auth)
        stolen = await gateway.exchange(code, auth.verifier, redirect_uri=auth.redirect_uri)
        assert stolen.json()["error"] == "invalid_grant"

        # nor can the app redeem a relying party's code, or pass as that relying party without its key
        rp_auth, rp_code = await redeemable(gateway, "openid")
        as_app = await redeem(
            identity, auth, rp_code, redirect_uri=gateway.redirect_uri, code_verifier=rp_auth.verifier, resource=None
        )
        assert as_app.json()["error"] == "invalid_grant"
        gateway = RelyingParty(mesh, "gateway")  # a fresh browser: redeemable() logs in
        rp_auth, rp_code = await redeemable(gateway, "openid")
        keyless = await redeem(
            identity,
            auth,
            rp_code,
            client_id="gateway",
            redirect_uri=gateway.redirect_uri,
            code_verifier=rp_auth.verifier,
            resource=None,
        )
        assert (keyless.status_code, keyless.json()["error"]) == (400, "invalid_client")
        assert (await gateway.exchange(rp_code, rp_auth.verifier)).status_code == 200, "the refusal spent nothing"

        # PKCE is what binds the code to the app instance that asked
        auth = AppAuthorization.for_service("consent")
        wrong = await redeem(identity, auth, await app_code(mesh, identity, auth), code_verifier="x" * 50)
        assert wrong.json()["error"] == "invalid_grant"


async def test_the_app_needs_no_credential_and_cannot_present_one(mesh):
    async with mesh.client("identity") as identity:
        auth = AppAuthorization.for_service("consent")
        code = await app_code(mesh, identity, auth)
        with_secret = await redeem(identity, auth, code, client_secret="anything")
        assert with_secret.json()["error"] == "invalid_client"
        assertion = private_key_jwt_sign(
            mesh.apps["gateway"].state.service.signing_key,
            CITIZEN_APP,
            mesh.urls["identity"] + TOKEN_PATH,
            alg="ES256",
            expires_in=60,
        )
        with_assertion = await redeem(
            identity, auth, code, client_assertion_type=CLIENT_ASSERTION_TYPE, client_assertion=assertion
        )
        assert with_assertion.json()["error"] == "invalid_client"
        assert (await redeem(identity, auth, code)).status_code == 200, "and without one it works"
        no_client = await redeem(identity, auth, code, client_id=None)
        assert no_client.json()["error"] == "invalid_client"


async def test_the_app_cannot_get_service_tokens(mesh):
    async with mesh.client("identity") as identity:
        response = await identity.post(
            TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": CITIZEN_APP, "scope": "consent:request"}
        )
    assert response.status_code in {400, 401} and response.json()["error"] in {"invalid_client", "unauthorized_client"}


async def test_codes_remember_their_resource(mesh):
    async with mesh.client("identity") as identity:
        await app_code(mesh, identity, AppAuthorization.for_service("consent"))
    await redeemable(RelyingParty(mesh, "gateway"), "openid")
    with mesh.apps["identity"].state.service.database.session() as session:
        stored = {code.client_id: code.resource for code in session.exec(select(AuthorizationCode))}
    assert stored == {CITIZEN_APP: CONSENT, "gateway": None}


# --- where the token works --------------------------------------------------------------------


async def test_the_apps_token_is_refused_by_userinfo_and_the_id_card(mesh):
    tokens = await app_login(mesh)
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    async with mesh.client("identity") as identity:
        assert_problem(await identity.get("/userinfo", headers=headers), 401, "invalid-token")
        assert_problem(
            await identity.post("/credentials/id-card", json={"holder_jwk": {}}, headers=headers), 401, "invalid-token"
        )


async def test_the_apps_token_for_the_provider_gets_the_id_card_and_nothing_else(mesh):
    tokens = await app_login(mesh, resource_service="identity")
    assert tokens.subject == mesh.apps["identity"].state.service.policy.subject_for(citizen_record(mesh), "pod")
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    device_key = ECKey.generate_key("P-256", private=True)
    async with mesh.client("identity") as identity:
        card = await identity.post(
            "/credentials/id-card", json={"holder_jwk": device_key.as_dict(private=False)}, headers=headers
        )
        assert card.status_code == 200, card.text
        assert_problem(await identity.get("/userinfo", headers=headers), 403, "not-a-relying-party")
    async with mesh.client("fines") as fines:  # a token for one service works at no other
        assert (await fines.get("/me/fines", headers=headers)).status_code == 401


ConsentRequester = Annotated[ServiceCaller, Depends(RequirePermission("consent:request"))]


def mount_test_routes(mesh: Mesh) -> None:
    consent = mesh.apps["consent"]

    async def whoami(citizen: CurrentCitizen) -> dict:
        return {
            "subject": citizen.subject,
            "acr": citizen.acr,
            "auth_time": citizen.auth_time,
            "token_id": citizen.token_id,
        }

    async def service_only(caller: ConsentRequester) -> dict:
        return {"client_id": caller.client_id}

    consent.add_api_route("/test/citizen", whoami, methods=["GET"])
    consent.add_api_route("/test/service", service_only, methods=["GET"])


@IN_RIGHTS
async def test_a_citizen_service_knows_the_caller_by_its_own_subject_and_refuses_other_tokens(mesh):
    mount_test_routes(mesh)
    tokens = await app_login(mesh)
    claims = await verified_access_token(mesh, tokens.access_token, CONSENT)
    async with mesh.client("consent") as consent:

        def bearer(token: str) -> dict:
            return {"Authorization": f"Bearer {token}"}

        me = await consent.get("/test/citizen", headers=bearer(tokens.access_token))
        assert me.status_code == 200, me.text
        assert me.json() == {
            "subject": tokens.subject,
            "acr": EIDAS_LOW,
            "auth_time": claims["auth_time"],
            "token_id": claims["jti"],
        }

        # a service token for this very service: a service is not a citizen
        service_token = mint(mesh, client="gateway", scope="consent:request", audience=CONSENT)
        assert_problem(await consent.get("/test/citizen", headers=bearer(service_token)), 403, "not-a-citizen")
        # a citizen token for another audience (the gateway's login, for the provider's userinfo)
        gateway_body, _ = await tokens_for(RelyingParty(mesh, "gateway"))
        refused = await consent.get("/test/citizen", headers=bearer(gateway_body["access_token"]))
        assert_problem(refused, 401, "invalid-token")
        assert "invalid_token" in refused.headers["www-authenticate"]
        missing = await consent.get("/test/citizen")
        assert_problem(missing, 401, "unauthenticated")
        assert missing.headers["www-authenticate"].startswith("Bearer")

        # and service endpoints refuse the citizen's app: it is in no kernel.access entry
        assert_problem(await consent.get("/test/service", headers=bearer(tokens.access_token)), 403, "forbidden-caller")
        expected = 200 if is_allowed("gateway", "consent:request") else 403  # the route itself works
        assert (await consent.get("/test/service", headers=bearer(service_token))).status_code == expected
