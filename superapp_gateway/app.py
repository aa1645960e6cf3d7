from __future__ import annotations

import httpx
from fastapi import FastAPI

from kernel.service_app import build_service_app
from superapp_gateway.catalogue import router as catalogue_router
from superapp_gateway.city_services import router as city_services_router
from superapp_gateway.history import JourneyEvent  # noqa: F401  (its table is the gateway's)
from superapp_gateway.internet_plus import router as internet_plus_router
from superapp_gateway.journeys import ROUTERS as journey_routers
from superapp_gateway.login import router as login_router
from superapp_gateway.models import GatewayTable
from superapp_gateway.policies import policy_for
from superapp_gateway.retrier import start_retrier, stop_retrier
from superapp_gateway.routes import demo_router
from superapp_gateway.settings import Settings
from superapp_gateway.user_agreement import router as user_agreement_router
from superapp_gateway.wallet_routes import router as wallet_router


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    routers = [
        login_router,
        catalogue_router,
        city_services_router,
        *journey_routers,
        wallet_router,
        internet_plus_router,
        user_agreement_router,
    ] + ([demo_router] if settings.demo else [])
    app = build_service_app(
        settings,
        title="super-app gateway",
        metadata=GatewayTable.metadata,
        routers=routers,
        transport=transport,
        on_startup=start_retrier,
        on_shutdown=stop_retrier,  # pending wallet payments are retried in the background
    )
    # the regime's choices (e.g. how the wallet names a payer to a department), made here once
    app.state.policy = policy_for(settings.regime)
    return app
