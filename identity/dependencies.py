"""The identity provider's typed state and the dependencies its routes use.

``IdentityState`` holds what the provider adds to every service's state: its regime's policy
(``identity.policy``), the authorization server (built once the app serves: it fetches its
clients' keys over HTTP) and the verifier of tokens addressed to the provider itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from identity.issuer_keys import published_jwks
from identity.policy import IdentityPolicy
from identity.settings import Settings
from identity.token_server import IdentityServer
from kernel.access import audience_of
from kernel.state import ServiceState, state_of
from kernel.tokens import AccessTokenVerifier


@dataclass(kw_only=True, eq=False)
class IdentityState(ServiceState[Settings]):
    policy: IdentityPolicy
    token_server: IdentityServer | None = field(default=None, repr=False)
    own_token_verifier: AccessTokenVerifier = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.own_token_verifier = AccessTokenVerifier(
            issuer=self.settings.issuer, audience=audience_of(self.settings.service_name), fetch_jwks=self._own_jwks
        )

    async def _own_jwks(self) -> dict[str, Any]:
        return published_jwks(self.settings, self.signing_key)

    @property
    def token_verifier(self) -> AccessTokenVerifier:
        """Tokens addressed to this provider (citizens' for userinfo and the ID card, services' for
        its service endpoints) are checked against its own keys, without a call to itself."""
        return self.own_token_verifier

    @property
    def server(self) -> IdentityServer:
        if self.token_server is None:
            raise RuntimeError("the identity service is not serving: no token server yet")
        return self.token_server


async def identity_state(request: Request) -> IdentityState:
    return state_of(request.app, IdentityState)


StateDep = Annotated[IdentityState, Depends(identity_state)]


async def identity_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(identity_settings)]


async def identity_policy(state: StateDep) -> IdentityPolicy:
    return state.policy


PolicyDep = Annotated[IdentityPolicy, Depends(identity_policy)]


async def identity_token_server(state: StateDep) -> IdentityServer:
    return state.server


TokenServerDep = Annotated[IdentityServer, Depends(identity_token_server)]
