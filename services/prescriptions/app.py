from __future__ import annotations

import httpx
from fastapi import FastAPI

from kernel.courier import courier_router
from kernel.service_app import DemoSeed, build_service_app
from kernel.signed import StatementVerifier
from services.prescriptions.demo import seed_demo
from services.prescriptions.me_routes import router as me_router
from services.prescriptions.models import PrescriptionsTable
from services.prescriptions.policy import policy_for
from services.prescriptions.routes import router
from services.prescriptions.settings import Settings

PAYMENT_CONFIRMATION_MAX_AGE_SECONDS = 86400


def _payment_verifier(app: FastAPI) -> None:
    # The wallet (the gateway) signs payment confirmations with its service key.
    app.state.payment_verifier = StatementVerifier(
        signer="gateway",
        typ="payment+jwt",
        fetch_jwks=lambda: app.state.services.fetch_peer_jwks("gateway"),
        max_age_seconds=PAYMENT_CONFIRMATION_MAX_AGE_SECONDS,
    )


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    app = build_service_app(
        settings,
        title="hospital and pharmacy (prescriptions)",
        metadata=PrescriptionsTable.metadata,
        routers=[router, me_router, courier_router()],
        seed=DemoSeed.calling_others(seed_demo),
        transport=transport,
        on_startup=_payment_verifier,
    )
    app.state.policy = policy_for(settings.regime, lambda: app.state.services, lambda: app.state.signing_key)
    return app
