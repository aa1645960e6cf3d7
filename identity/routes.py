from __future__ import annotations

from authlib.oauth2.rfc6749.errors import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from identity.token_server import FormOAuth2Request, ServiceTokenServer
from kernel.access import ACCESS_POLICY
from kernel.client import CLIENT_ASSERTION_TYPE, JWKS_PATH, TOKEN_PATH
from kernel.keys import SIGNING_ALGORITHM, public_jwks

router = APIRouter(tags=["oauth2"])


class TokenRequest(BaseModel):
    """OAuth 2.0 client-credentials request with a private_key_jwt client assertion."""

    grant_type: str = Field(examples=["client_credentials"])
    scope: str = Field(examples=["fines:read fines:pay"])
    resource: str | None = Field(default=None, description="RFC 8707 resource indicator: urn:citygate:<service>")
    client_assertion_type: str = Field(examples=[CLIENT_ASSERTION_TYPE])
    client_assertion: str = Field(description="JWT signed with the client's key (RFC 7523)")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


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
    summary="Issue a service access token (client credentials, private_key_jwt)",
    response_model=TokenResponse,
    responses={400: {"model": OAuthError}, 401: {"model": OAuthError}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": TokenRequest.model_json_schema()}}}},
)
async def issue_token(request: Request) -> JSONResponse:
    server: ServiceTokenServer = request.app.state.token_server
    form = await request.form()
    items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    try:
        oauth_request = FormOAuth2Request(request.method, str(request.url), dict(request.headers), items)
    except OAuth2Error as error:  # Authlib refuses plain http off loopback (insecure_transport)
        return server.handle_response(*error())
    await server.keys.prepare_for(oauth_request.payload.data.get("client_assertion"))
    # Authlib's flow is synchronous and writes to the database: keep it off the event loop.
    return await run_in_threadpool(server.create_token_response, oauth_request)


@router.get(JWKS_PATH, summary="The keys access tokens are signed with")
async def jwks(request: Request) -> dict:
    return public_jwks(request.app.state.signing_key)


@router.get("/.well-known/oauth-authorization-server", summary="RFC 8414 metadata")
async def metadata(request: Request) -> AuthorizationServerMetadata:
    issuer = request.app.state.settings.public_url
    return AuthorizationServerMetadata(
        issuer=issuer,
        token_endpoint=issuer + TOKEN_PATH,
        jwks_uri=issuer + JWKS_PATH,
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=["private_key_jwt"],
        token_endpoint_auth_signing_alg_values_supported=[SIGNING_ALGORITHM],
        scopes_supported=sorted(ACCESS_POLICY),
    )
