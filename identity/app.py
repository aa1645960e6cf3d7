from __future__ import annotations

import functools

import httpx
from fastapi import FastAPI

from identity.authorize import router as authorize_router
from identity.client_registry import ClientKeyDirectory, registered_clients
from identity.credentials import router as credentials_router
from identity.demo import reset_demo, seed_demo
from identity.dependencies import IdentityState
from identity.issuer_keys import rotate_an_old_signing_key
from identity.login import router as login_router
from identity.models import IdentityTable
from identity.operator_routes import router as operator_router
from identity.pairwise import PAIRWISE_SECRET_FILE, load_or_create_secret
from identity.policy import policy_for
from identity.routes import router
from identity.schema import upgrade
from identity.sector_subjects import router as sector_subjects_router
from identity.settings import Settings
from identity.subject_index import backfill
from identity.token_server import IdentityServer
from kernel.client import JWKS_PATH, TOKEN_PATH
from kernel.cors import ALLOWED_HEADERS, allow_citizen_web
from kernel.demo_reset import ResetSummary, demo_reset_router, local_reset
from kernel.framing import allow_stage_framing
from kernel.service_app import build_service_app, local_seed
from kernel.state import state_of

# What the citizen web app's page reads here: the token endpoint, the provider's keys and metadata.
CITIZEN_WEB_PATHS = (TOKEN_PATH, JWKS_PATH, "/.well-known/openid-configuration")
# ... and the ID card: the app fetches its card with its own bearer token (no cookie), and shows a
# verifier's check of its presentation (the bar's, in the demo)
CITIZEN_WEB_CREDENTIAL_PATHS = ("/credentials/id-card", "/credentials/verify")


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    policy = policy_for(settings.regime, load_or_create_secret(settings.keys_dir / PAIRWISE_SECRET_FILE))
    rotate_an_old_signing_key(settings)  # before the app's state loads the key
    app = build_service_app(
        settings,
        title="identity",
        metadata=IdentityTable.metadata,
        routers=[
            router,
            authorize_router,
            login_router,
            credentials_router,
            sector_subjects_router,
            operator_router,
            demo_reset_router(_reset_demo),
        ],
        state=functools.partial(IdentityState, policy=policy),
        seed=local_seed(functools.partial(seed_demo, policy=policy)),
        transport=transport,
        on_startup=start_token_server,
        publishes_service_keys=False,  # its JWKS path publishes its token-signing keys (identity.routes)
    )
    # the citizen web app (workshop/citizen_web) redeems its code and checks its ID token from its page
    allow_citizen_web(app, settings.citizen_web_origin, CITIZEN_WEB_PATHS, methods=("GET", "POST"))
    allow_citizen_web(
        app,
        settings.citizen_web_origin,
        CITIZEN_WEB_CREDENTIAL_PATHS,
        methods=("POST",),
        headers=(*ALLOWED_HEADERS, "Authorization"),
    )
    allow_stage_framing(app, settings.stage_origin)  # the login and consent pages, in the stage's phone
    return app


async def _reset_demo(app: FastAPI) -> ResetSummary:
    """``identity.demo.reset_demo`` with the app's own policy (one reset router for every app)."""
    policy = state_of(app, IdentityState).policy
    return await local_reset(functools.partial(reset_demo, policy=policy))(app)


def start_token_server(app: FastAPI) -> None:
    """Once the tables exist and the app has its HTTP client (to fetch its clients' keys)."""
    state = state_of(app, IdentityState)
    # columns newer than the database (identity.schema), then the subject index made complete
    upgrade(state.database)
    backfill(state.database, state.policy)
    settings = state.settings
    state.token_server = IdentityServer(
        issuer=settings.issuer,
        token_endpoint=settings.issuer + TOKEN_PATH,
        signing_key=state.signing_key,
        settings=settings,
        policy=state.policy,
        keys=ClientKeyDirectory(registered_clients(settings), state.http),
        database=state.database,
    )
