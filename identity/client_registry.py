"""The OAuth clients the provider knows, and their public keys fetched from their jwks_uri.

Every service is a confidential client authenticating with ``private_key_jwt``; the ones
with redirect URIs are also relying parties of the citizen login (authorization code flow).
The citizen's own app (``kernel.citizens.CITIZEN_APP``) is the one public client (RFC 8252): no
key and no secret, only the authorization code grant, bound to the PKCE verifier it holds.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx
from authlib.oauth2.rfc6749 import ClientMixin
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from identity.settings import Settings
from kernel.citizens import CITIZEN_APP
from kernel.keys import signature_key_set

PRIVATE_KEY_JWT = "private_key_jwt"
PUBLIC_CLIENT = "none"  # RFC 7591 token_endpoint_auth_method of a client without credentials
KEY_REFRESH_MIN_SECONDS = 30


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):
    client_id: str
    jwks_uri: str
    redirect_uris: tuple[str, ...] = ()
    token_endpoint_auth_method: str = PRIVATE_KEY_JWT

    @property
    def is_relying_party(self) -> bool:
        return bool(self.redirect_uris)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == PUBLIC_CLIENT

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # OpenID Connect requires redirect_uri on every request

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact match, no prefixes, patterns or ports left open. RFC 8252 §7.3 would let a native
        # app's loopback redirect URI match on any port; here every service serves pages on
        # 127.0.0.1 (a pod serves what people stored in it), so any port would let such a page
        # receive the citizen app's codes. The citizen web app's URI is registered instead
        # (identity setting citizen_web_origin).
        return redirect_uri in self.redirect_uris

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # one method per client: a confidential client can never pass as a public one
        return method == self.token_endpoint_auth_method and endpoint == "token"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "authorization_code":
            return self.is_relying_party
        return grant_type == "client_credentials" and not self.is_public

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and self.is_relying_party

    def get_allowed_scope(self, scope: str) -> str:
        # Each grant validates its own scopes (service permissions vs. OpenID scopes).
        return scope


def registered_clients(settings: Settings) -> dict[str, RegisteredClient]:
    """The services the settings name (their keys, the relying parties' redirect URIs), and the
    citizen's own app: a public client (RFC 8252), no key to fetch."""
    clients = {
        name: RegisteredClient(name, jwks_uri, tuple(settings.redirect_uris.get(name, ())))
        for name, jwks_uri in settings.clients.items()
    }
    clients[CITIZEN_APP] = RegisteredClient(
        CITIZEN_APP, "", settings.citizen_app_redirect_uris, token_endpoint_auth_method=PUBLIC_CLIENT
    )
    return clients


class ClientKeyDirectory:
    """Caches each client's JWKS; refetches when an assertion names a kid it does not know."""

    def __init__(self, clients: dict[str, RegisteredClient], http: httpx.AsyncClient) -> None:
        self.clients = clients
        self.http = http
        self._key_sets: dict[str, KeySet] = {}
        self._fetched_at: dict[str, float] = {}
        self._lock = asyncio.Lock()

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.clients.get(client_id)

    def key_set_of(self, client: RegisteredClient) -> KeySet:
        return self._key_sets.get(client.client_id) or KeySet([])

    async def prepare_for(self, assertion: str | None) -> None:
        """Make sure the keys the assertion claims to be signed with are loaded (verification is Authlib's)."""
        client_id, kid = _unverified_sender(assertion)
        client = self.clients.get(client_id or "")
        if client is None or not client.jwks_uri:
            return
        known = self._key_sets.get(client.client_id)
        if known is not None and any(key.kid == kid for key in known.keys):
            return
        async with self._lock:
            recently = (
                time.monotonic() - self._fetched_at.get(client.client_id, float("-inf")) < KEY_REFRESH_MIN_SECONDS
            )
            if known is not None and recently:
                return
            try:
                response = await self.http.get(client.jwks_uri)
                response.raise_for_status()
                # a service publishes its encryption key (use: enc) too: only signing keys check assertions
                self._key_sets[client.client_id] = signature_key_set(response.json())
            except (httpx.HTTPError, ValueError):
                return  # Authlib then refuses the assertion: no key verifies it
            finally:
                self._fetched_at[client.client_id] = time.monotonic()


def _unverified_sender(assertion: str | None) -> tuple[str | None, str | None]:
    try:
        compact = jws.extract_compact((assertion or "").encode("ascii"))
        return str(json.loads(compact.payload).get("sub")), compact.headers().get("kid")
    except (JoseError, ValueError, AttributeError):
        return None, None
