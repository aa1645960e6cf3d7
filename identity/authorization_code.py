"""The citizen login: OpenID Connect authorization code flow on Authlib's grant classes.

What Authlib does: request validation, redirect URI checks, PKCE comparison, the token
response, the ID token. What this module decides: PKCE is required for every client and
``S256`` only; ``nonce`` is required; codes live briefly and are consumed atomically (two
concurrent redemptions cannot both succeed); subjects and claims come from the regime's
policy. Relying parties authenticate with ``private_key_jwt``; the citizen's own app is a
public client (``none``) whose tokens are for the one service it names (``identity.resources``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import update
from sqlmodel import col, select

from identity.client_registry import PRIVATE_KEY_JWT, PUBLIC_CLIENT
from identity.models import AuthorizationCode, Citizen
from identity.policy import IdentityPolicy
from identity.resources import IDENTITY_AUDIENCE, authorization_resource, check_token_resource, subject_client
from kernel.database import Database
from kernel.keys import SIGNING_ALGORITHM


@dataclass(frozen=True)
class CitizenPrincipal:
    """A citizen as one relying party sees them: the subject is that party's own (for the citizen's
    app, the subject of the service it acts at)."""

    citizen: Citizen
    client_id: str
    subject: str
    acr: str
    amr: tuple[str, ...]
    auth_time: int
    resource: str | None = None  # RFC 8707: the service the citizen's app acts at; None: this provider

    @property
    def audience(self) -> str:
        return self.resource or IDENTITY_AUDIENCE

    @property
    def subject_client(self) -> str:
        """The client whose sector ``subject`` is in."""
        return subject_client(self.client_id, self.resource)

    def get_user_id(self) -> str:
        return self.subject


class S256CodeChallenge(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class CitizenCodeGrant(AuthorizationCodeGrant):
    # each client may use only its own registered method (RegisteredClient.check_endpoint_auth_method)
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [PRIVATE_KEY_JWT, PUBLIC_CLIENT]
    AUTHORIZATION_CODE_LENGTH = 48

    def validate_requested_scope(self) -> None:
        scopes = (self.request.payload.scope or "").split()
        if "openid" not in scopes:
            raise InvalidScopeError("This is an OpenID Connect provider: include the 'openid' scope.")
        unknown = [s for s in scopes if s not in self.server.policy.scopes_supported]
        if unknown:
            raise InvalidScopeError(f"Unknown scopes: {' '.join(unknown)}.")
        # raised here, the error is redirected to the (already validated) redirect URI
        authorization_resource(self.request.payload.client_id, self.request.payload)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        check_token_resource(self.request.payload, self.request.authorization_code.resource)

    def save_authorization_code(self, code: str, request) -> None:
        principal: CitizenPrincipal = request.user
        data = request.payload.data
        with self.server.database.session() as session:
            session.add(
                AuthorizationCode(
                    code=code,
                    client_id=request.client.get_client_id(),
                    citizen_id=principal.citizen.id,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.payload.scope,
                    nonce=data["nonce"],
                    code_challenge=data["code_challenge"],
                    code_challenge_method=data["code_challenge_method"],
                    auth_time=datetime.fromtimestamp(principal.auth_time, UTC),
                    acr=principal.acr,
                    amr=" ".join(principal.amr),
                    resource=principal.resource,
                    expires_at=datetime.now(UTC) + timedelta(seconds=self.server.code_ttl_seconds),
                )
            )
            session.commit()

    def query_authorization_code(self, code: str, client) -> AuthorizationCode | None:
        """Consume the code: exactly one redemption can flip ``used_at``, however many race."""
        now = datetime.now(UTC)
        with self.server.database.session() as session:
            consumed = session.exec(
                update(AuthorizationCode)
                .where(
                    col(AuthorizationCode.code) == code,
                    col(AuthorizationCode.client_id) == client.get_client_id(),
                    col(AuthorizationCode.used_at).is_(None),
                    col(AuthorizationCode.expires_at) > now,
                )
                .values(used_at=now)
            )
            session.commit()
            if consumed.rowcount != 1:
                return None
            return session.get(AuthorizationCode, code)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Kept, marked used: a replayed code is then recognisably a replay, not an unknown code."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> CitizenPrincipal | None:
        with self.server.database.session() as session:
            citizen = session.get(Citizen, authorization_code.citizen_id)
        if citizen is None:
            return None
        client_id, resource = authorization_code.client_id, authorization_code.resource
        return CitizenPrincipal(
            citizen=citizen,
            client_id=client_id,
            subject=self.server.policy.subject_for(citizen, subject_client(client_id, resource)),
            acr=authorization_code.acr,
            amr=tuple(authorization_code.get_amr()),
            auth_time=authorization_code.get_auth_time(),
            resource=resource,
        )


class CitizenOpenIDCode(OpenIDCode):
    def __init__(
        self,
        *,
        issuer: str,
        signing_key: ECKey,
        policy: IdentityPolicy,
        database: Database,
        id_token_ttl_seconds: int,
    ) -> None:
        super().__init__(require_nonce=True)
        self.issuer = issuer
        self.signing_key = signing_key
        self.policy = policy
        self.database = database
        self.ttl = id_token_ttl_seconds

    def exists_nonce(self, nonce: str, request) -> bool:
        with self.database.session() as session:
            return (
                session.exec(
                    select(AuthorizationCode.code).where(
                        AuthorizationCode.client_id == request.payload.client_id,
                        AuthorizationCode.nonce == nonce,
                    )
                ).first()
                is not None
            )

    def resolve_client_private_key(self, client) -> KeySet:
        return KeySet([self.signing_key])

    def get_client_algorithm(self, client) -> str:
        return SIGNING_ALGORITHM

    def get_encode_header(self, client) -> dict:
        return {"alg": SIGNING_ALGORITHM, "typ": "JWT", "kid": self.signing_key.kid}

    def get_client_claims(self, client) -> dict:
        now = int(time.time())
        return {"iss": self.issuer, "aud": [client.get_client_id()], "iat": now, "exp": now + self.ttl}

    def generate_user_info(self, user: CitizenPrincipal, scope: str) -> UserInfo:
        # For the citizen's app, the ID token's sub is the access token's: the subject of the service
        # it acts at (docs/identity.md, "The citizen's own app").
        return UserInfo(self.policy.released_claims(user.citizen, user.subject_client, scope))


def new_session_id() -> str:
    return secrets.token_urlsafe(32)
