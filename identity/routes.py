"""The provider's OAuth 2.0 and OpenID Connect endpoints for clients: the token endpoint, its keys,
its metadata (RFC 8414, OpenID discovery) and userinfo.

The token endpoint answers errors in RFC 6749's vocabulary (``IdentityServer.handle_response``);
userinfo in problem details, like every other route.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from identity.auth import CurrentCitizen
from identity.dependencies import PolicyDep, SettingsDep, StateDep, TokenServerDep
from identity.errors import InsufficientScope, NotARelyingParty
from identity.issuer_keys import published_jwks
from identity.token_server import FormOAuth2Request
from kernel.access import ACCESS_POLICY
from kernel.citizens import CITIZEN_APP
from kernel.client import CLIENT_ASSERTION_TYPE, JWKS_PATH, TOKEN_PATH
from kernel.keys import SIGNING_ALGORITHM
from kernel.problems import problem_responses

router = APIRouter(tags=["oauth2"])


class TokenRequest(BaseModel):
    """OAuth 2.0 token request (client credentials, or an authorization code with its PKCE verifier):
    services and relying parties authenticate with a private_key_jwt client assertion; the citizen's
    own app (public client ``citizen-app``) sends only its ``client_id``."""

    grant_type: str = Field(max_length=100, examples=["client_credentials", "authorization_code"])
    scope: str | None = Field(default=None, max_length=1000, examples=["fines:read fines:pay"])
    code: str | None = Field(default=None, max_length=200)
    redirect_uri: str | None = Field(default=None, max_length=500)
    code_verifier: str | None = Field(default=None, max_length=128)  # RFC 7636 §4.1: 43–128 characters
    resource: str | None = Field(
        default=None, max_length=200, description="RFC 8707 resource indicator: urn:citygate:<service>"
    )
    client_id: str | None = Field(default=None, max_length=100, description="Public clients only (citizen-app)")
    client_assertion_type: str | None = Field(default=None, max_length=100, examples=[CLIENT_ASSERTION_TYPE])
    client_assertion: str | None = Field(
        default=None, max_length=8000, description="JWT signed with the client's key (RFC 7523)"
    )


def _too_long(items: list[tuple[str, str]]) -> str | None:
    """The first form field longer than TokenRequest allows (the form is read raw, for Authlib)."""
    for key, value in items:
        field = TokenRequest.model_fields.get(key)
        limit = (
            next((rule.max_length for rule in field.metadata if hasattr(rule, "max_length")), None) if field else None
        )
        if limit is not None and len(value) > limit:
            return key
    return None


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str
    id_token: str | None = None


class OAuthError(BaseModel):
    error: str
    error_description: str | None = None
    type: str
    title: str
    status: int
    detail: str | None = None


class AuthorizationServerMetadata(BaseModel):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    scopes_supported: list[str]


@router.post(
    TOKEN_PATH,
    summary="Issue an access token (client credentials; authorization code for relying parties and the citizen's app)",
    response_model=TokenResponse,
    responses={400: {"model": OAuthError}, 401: {"model": OAuthError}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": TokenRequest.model_json_schema()}},
        }
    },
)
async def issue_token(request: Request, server: TokenServerDep) -> JSONResponse:
    form = await request.form()
    items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    if (field := _too_long(items)) is not None:
        return server.handle_response(*InvalidRequestError(f"{field} is too long.")())
    try:
        oauth_request = FormOAuth2Request(request.method, str(request.url), dict(request.headers), items)
    except OAuth2Error as error:  # Authlib refuses plain http off loopback (insecure_transport)
        return server.handle_response(*error())
    await server.keys.prepare_for(oauth_request.payload.data.get("client_assertion"))
    # Authlib's flow is synchronous and writes to the database: keep it off the event loop.
    return await run_in_threadpool(server.create_token_response, oauth_request)


@router.get(JWKS_PATH, summary="The keys tokens are signed with (current, and retired ones still in use)")
async def jwks(state: StateDep) -> dict[str, Any]:
    return await run_in_threadpool(published_jwks, state.settings, state.signing_key)


@router.get("/.well-known/oauth-authorization-server", summary="RFC 8414 metadata")
async def metadata(settings: SettingsDep) -> AuthorizationServerMetadata:
    issuer = settings.issuer
    return AuthorizationServerMetadata(
        issuer=issuer,
        token_endpoint=issuer + TOKEN_PATH,
        jwks_uri=issuer + JWKS_PATH,
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=["private_key_jwt"],
        token_endpoint_auth_signing_alg_values_supported=[SIGNING_ALGORITHM],
        scopes_supported=sorted(ACCESS_POLICY),
    )


class OpenIDProviderMetadata(BaseModel):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    response_types_supported: list[str]
    response_modes_supported: list[str]
    grant_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    code_challenge_methods_supported: list[str]
    scopes_supported: list[str]
    claims_supported: list[str]
    acr_values_supported: list[str]
    claims_parameter_supported: bool
    request_parameter_supported: bool


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
async def openid_configuration(settings: SettingsDep, policy: PolicyDep) -> OpenIDProviderMetadata:
    issuer = settings.issuer
    return OpenIDProviderMetadata(
        issuer=issuer,
        authorization_endpoint=issuer + "/authorize",
        token_endpoint=issuer + TOKEN_PATH,
        userinfo_endpoint=issuer + "/userinfo",
        jwks_uri=issuer + JWKS_PATH,
        response_types_supported=["code"],
        response_modes_supported=["query"],
        grant_types_supported=["authorization_code", "client_credentials"],
        subject_types_supported=list(policy.subject_types_supported),
        id_token_signing_alg_values_supported=[SIGNING_ALGORITHM],
        token_endpoint_auth_methods_supported=["private_key_jwt"],
        token_endpoint_auth_signing_alg_values_supported=[SIGNING_ALGORITHM],
        code_challenge_methods_supported=["S256"],
        scopes_supported=list(policy.scopes_supported),
        claims_supported=list(policy.claims_supported),
        acr_values_supported=list(policy.acr_values_supported),
        claims_parameter_supported=False,
        request_parameter_supported=False,
    )


USERINFO_PROBLEMS = problem_responses(NotARelyingParty, InsufficientScope)


@router.get("/userinfo", summary="OpenID Connect userinfo", operation_id="userinfo_get", responses=USERINFO_PROBLEMS)
@router.post("/userinfo", summary="OpenID Connect userinfo", operation_id="userinfo_post", responses=USERINFO_PROBLEMS)
async def userinfo(who: CurrentCitizen, policy: PolicyDep) -> dict[str, Any]:
    if who.client_id == CITIZEN_APP:
        # the app's token for this provider is for its ID card only: the app is no relying party
        raise NotARelyingParty("The citizen app's token for this provider is good for the ID card only.")
    return policy.released_claims(who.citizen, who.client_id, who.scope)
