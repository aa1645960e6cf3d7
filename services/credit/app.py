"""The credit-sharing platform: ``create_app`` builds the app, nothing else."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from kernel.demo_reset import demo_reset_router
from kernel.service_app import build_service_app
from services.credit.demo import reset_demo
from services.credit.dependencies import CreditState
from services.credit.models import CreditTable
from services.credit.routes import router
from services.credit.settings import Settings


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return build_service_app(
        settings,
        title="credit-sharing platform",
        metadata=CreditTable.metadata,
        routers=[router, demo_reset_router(reset_demo)],
        state=CreditState,
        transport=transport,
    )
