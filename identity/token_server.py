"""Authlib's authorization server, adapted to FastAPI: service tokens and the citizen login.

The client-credentials grant with ``private_key_jwt`` client authentication (RFC 7523) and
RFC 9068 JWT access tokens are Authlib's; what is ours is where clients and their keys
come from, the permission table that bounds the scope, and the jti replay store.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import ClassVar

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from fastapi.responses import JSONResponse
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from identity.authorization_code import CitizenCodeGrant, CitizenOpenIDCode, S256CodeChallenge
from identity.client_registry import PRIVATE_KEY_JWT, ClientKeyDirectory
from identity.models import IssuedAccessToken, UsedClientAssertion
from identity.policy import IdentityPolicy
from identity.resources import InvalidTargetError
from identity.settings import Settings
from kernel.access import ACCESS_POLICY, audience_of, callee_of, is_allowed
from kernel.database import Database
from kernel.keys import SIGNING_ALGORITHM
from kernel.tokens import ALLOWED_ALGORITHMS

MAX_ASSERTION_LIFETIME_SECONDS = 300


class FormPayload(OAuth2Payload):
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._datalist


class FormOAuth2Request(OAuth2Request):
    """An OAuth2Request built from an already-read Starlette form (Authlib's flow is synchronous)."""

    def __init__(self, method: str, uri: str, headers: dict[str, str], form_items: list[tuple[str, str]]) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self.payload = FormPayload(form_items)

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data

    @property
    def args(self) -> dict[str, str]:
        return {}


class PrivateKeyJWTAuthentication(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, *, audiences: list[str], keys: ClientKeyDirectory, database: Database) -> None:
        super().__init__(validate_jti=True, leeway=10)
        self._audiences = audiences
        self._keys = keys
        self._database = database

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client) -> KeySet:
        return self._keys.key_set_of(client)

    def process_assertion_claims(self, assertion, resolve_key):
        # Authlib's version accepts any recommended algorithm; ours only the allow-list.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ALLOWED_ALGORITHMS))
        except JoseError as error:
            raise InvalidClientError(description=error.description) from error
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims) -> None:
        lifetime = int(claims.get("exp", 0)) - int(time.time())
        if lifetime > MAX_ASSERTION_LIFETIME_SECONDS:
            raise InvalidClientError(description="Client assertions may live at most 5 minutes.")
        super().verify_claims(claims)

    def validate_jti(self, claims, jti) -> bool:
        now = datetime.now(UTC)
        with self._database.session() as session:
            session.exec(delete(UsedClientAssertion).where(col(UsedClientAssertion.expires_at) < now))
            session.add(
                UsedClientAssertion(
                    client_jti=f"{claims['sub']}:{jti}"[:300],
                    expires_at=datetime.fromtimestamp(int(claims["exp"]) + self.leeway, UTC),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                return False
        return True


class ServiceClientCredentialsGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [PRIVATE_KEY_JWT]

    def validate_requested_scope(self) -> None:
        requested = (self.request.payload.scope or "").split()
        if not requested:
            raise InvalidScopeError("Name the permissions you need, e.g. scope=fines:read.")
        unknown = [p for p in requested if p not in ACCESS_POLICY]
        if unknown:
            raise InvalidScopeError(f"Unknown permissions: {' '.join(unknown)}.")
        refused = [p for p in requested if not is_allowed(self.request.client.get_client_id(), p)]
        if refused:
            raise InvalidScopeError(f"This client may not hold: {' '.join(refused)}.")
        callees = {callee_of(p) for p in requested}
        if len(callees) != 1:
            raise InvalidScopeError("One token is for one service: request each service's permissions separately.")
        resource = self.request.payload.data.get("resource")
        if resource is not None and resource != audience_of(callees.pop()):
            raise InvalidTargetError("The resource does not match the permissions requested.")


class ServiceAccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 tokens: for a service, bound to the callee; for a citizen, to this provider's userinfo,
    or — held by the citizen's own app — to the one service the app asked for (RFC 8707)."""

    def __init__(self, *, issuer: str, signing_key: ECKey, ttl_seconds: int) -> None:
        super().__init__(issuer=issuer, alg=SIGNING_ALGORITHM, expires_generator=lambda client, grant: ttl_seconds)
        self._key_set = KeySet([signing_key])

    def get_jwks(self) -> KeySet:
        return self._key_set

    def get_audiences(self, client, user, scope) -> str:
        if user is not None:
            return user.audience
        return audience_of(callee_of(scope.split()[0]))

    def get_acr(self, user) -> str | None:
        return user.acr if user is not None else None

    def get_auth_time(self, user) -> int | None:
        return user.auth_time if user is not None else None


class IdentityServer(AuthorizationServer):
    """Service tokens (client credentials) and the citizen login (authorization code + OpenID)."""

    def __init__(
        self,
        *,
        issuer: str,
        token_endpoint: str,
        signing_key: ECKey,
        settings: Settings,
        policy: IdentityPolicy,
        keys: ClientKeyDirectory,
        database: Database,
    ) -> None:
        super().__init__(scopes_supported=[*sorted(ACCESS_POLICY), *policy.scopes_supported])
        self.issuer = issuer
        self.keys = keys
        self.database = database
        self.policy = policy
        self.code_ttl_seconds = settings.authorization_code_ttl_seconds
        self.register_client_auth_method(
            PRIVATE_KEY_JWT,
            PrivateKeyJWTAuthentication(audiences=[token_endpoint, issuer], keys=keys, database=database),
        )
        self.register_grant(ServiceClientCredentialsGrant)
        self.register_grant(
            CitizenCodeGrant,
            [
                S256CodeChallenge(required=True),
                CitizenOpenIDCode(
                    issuer=issuer,
                    signing_key=signing_key,
                    policy=policy,
                    database=database,
                    id_token_ttl_seconds=settings.id_token_ttl_seconds,
                ),
            ],
        )
        self.register_token_generator(
            "default",
            ServiceAccessTokenGenerator(
                issuer=issuer, signing_key=signing_key, ttl_seconds=settings.access_token_ttl_seconds
            ),
        )

    def query_client(self, client_id):
        return self.keys.query_client(client_id)

    def save_token(self, token: dict, request) -> None:
        claims = _payload_of(token["access_token"])
        citizen = request.user.citizen.id if request.user is not None else None
        with self.database.session() as session:
            session.add(
                IssuedAccessToken(
                    jti=claims["jti"],
                    client_id=claims["client_id"],
                    audience=claims["aud"],
                    scope=claims["scope"],
                    citizen_id=citizen,
                    issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                    expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                )
            )
            session.commit()

    def create_oauth2_request(self, request):
        return request

    def send_signal(self, name, *args, **kwargs) -> None:
        return None

    def handle_response(self, status, body, headers) -> JSONResponse:
        body = dict(body)
        if status >= 400 and "error" in body:
            # RFC 6749 §5.2 error members, plus RFC 9457 members so it reads like every other error.
            body.update(
                type=f"urn:ietf:params:oauth:error:{body['error']}",
                title=body["error"].replace("_", " "),
                status=status,
                detail=body.get("error_description"),
            )
        return JSONResponse(body, status_code=status, headers=dict(headers))


def _payload_of(token: str) -> dict:
    return json.loads(jws.extract_compact(token.encode("ascii")).payload)
