"""The super-app gateway's app: ``create_app`` and nothing else."""

from __future__ import annotations

import functools

import httpx
from fastapi import FastAPI

from kernel.demo_reset import demo_reset_router
from kernel.service_app import build_service_app
from superapp_gateway.catalogue import router as catalogue_router
from superapp_gateway.citizen_web import allow_citizen_web_app
from superapp_gateway.demo import reset_demo
from superapp_gateway.dependencies import GatewayState
from superapp_gateway.journeys import ROUTERS as journey_routers
from superapp_gateway.login import router as login_router
from superapp_gateway.me_routes import router as me_router
from superapp_gateway.models import GatewayTable
from superapp_gateway.pages.routes import router as pages_router
from superapp_gateway.policy import policy_for
from superapp_gateway.retrier import start_retrier, stop_retrier
from superapp_gateway.routes import demo_router, internet_plus_router
from superapp_gateway.settings import Settings
from superapp_gateway.user_agreement_routes import router as user_agreement_router
from superapp_gateway.wallet_routes import router as wallet_router


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    # the regime's choices (e.g. how the wallet names a payer to a department), made here once
    policy = policy_for(settings.regime)
    routers = [
        login_router,
        catalogue_router,
        me_router,
        *journey_routers,
        wallet_router,
        internet_plus_router,
        user_agreement_router,
        demo_reset_router(reset_demo),
        # the phone's pages; in a regime without them (policy.phone) they answer 404 problems
        pages_router,
    ] + ([demo_router] if settings.demo else [])
    app = build_service_app(
        settings,
        title="super-app gateway",
        metadata=GatewayTable.metadata,  # every table of the gateway's (superapp_gateway/models.py)
        routers=routers,
        state=functools.partial(GatewayState, policy=policy),
        transport=transport,
        on_startup=start_retrier,
        on_shutdown=stop_retrier,  # pending wallet payments are retried in the background
    )
    policy.phone.mount(app)  # what the phone's pages load (styles), where the regime has them
    allow_citizen_web_app(app, settings)  # the rights phone's page posts its sealed envelopes here
    return app
