from __future__ import annotations

from dataclasses import replace

import httpx
from fastapi import FastAPI

from identity.client_registry import PUBLIC_CLIENT, ClientKeyDirectory, RegisteredClient
from identity.credentials import router as credentials_router
from identity.demo import seed_demo
from identity.login import router as login_router
from identity.models import IdentityTable
from identity.pairwise import load_or_create_secret
from identity.profiles import profile_for
from identity.routes import published_jwks, router
from identity.schema import upgrade
from identity.sector_subjects import router as sector_subjects_router
from identity.settings import Settings
from identity.subject_index import backfill
from identity.token_server import IdentityServer
from kernel.access import audience_of
from kernel.citizens import CITIZEN_APP
from kernel.client import TOKEN_PATH
from kernel.keys import KEY_FILE, rotate_signing_key, signing_key_age_seconds
from kernel.service_app import build_service_app, local_seed
from kernel.state import ServiceState, state_of
from kernel.tokens import AccessTokenVerifier

PAIRWISE_SECRET_FILE = "pairwise-secret"


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    pairwise_secret = load_or_create_secret(settings.keys_dir / PAIRWISE_SECRET_FILE)
    profile = profile_for(settings.regime, pairwise_secret)
    key_file = settings.keys_dir / KEY_FILE
    if key_file.exists() and signing_key_age_seconds(settings.keys_dir) > settings.signing_key_rotation_days * 86400:
        rotate_signing_key(settings.keys_dir)

    def start_identity_server(app: FastAPI) -> None:
        # tables were created; add columns newer than the database, complete the subject index
        upgrade(app.state.database)
        backfill(app.state.database, profile)
        clients = {
            name: RegisteredClient(name, jwks_uri, tuple(settings.redirect_uris.get(name, ())))
            for name, jwks_uri in settings.clients.items()
        }
        # the citizen's own app: a public client (RFC 8252), no key to fetch
        clients[CITIZEN_APP] = RegisteredClient(
            CITIZEN_APP, "", (settings.citizen_app_redirect_uri,), token_endpoint_auth_method=PUBLIC_CLIENT
        )
        app.state.token_server = IdentityServer(
            issuer=settings.public_url,
            token_endpoint=settings.public_url + TOKEN_PATH,
            signing_key=app.state.signing_key,
            settings=settings,
            profile=profile,
            keys=ClientKeyDirectory(clients, app.state.http),
            database=app.state.database,
        )

        async def own_keys() -> dict:
            return published_jwks(app)

        # Tokens addressed to this provider (citizens' for userinfo, services' for its service
        # endpoints) are checked against its own keys, without a call to itself.
        app.state.citizen_token_verifier = AccessTokenVerifier(
            issuer=settings.public_url, audience=audience_of("identity"), fetch_jwks=own_keys
        )
        app.state.token_verifier = app.state.citizen_token_verifier
        service = state_of(app, ServiceState)
        assert service.connections is not None
        service.connections = replace(service.connections, token_verifier=app.state.citizen_token_verifier)

    def seed(session, seed_settings) -> None:
        seed_demo(session, seed_settings, profile=profile)

    return build_service_app(
        settings,
        title="identity",
        metadata=IdentityTable.metadata,
        routers=[router, login_router, credentials_router, sector_subjects_router],
        seed=local_seed(seed),
        transport=transport,
        on_startup=start_identity_server,
        publishes_service_keys=False,  # its JWKS path publishes its token-signing keys (token_server)
    )
