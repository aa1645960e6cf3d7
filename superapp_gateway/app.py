from __future__ import annotations

import httpx
from fastapi import FastAPI

from kernel.service_app import build_service_app
from superapp_gateway.login import router as login_router
from superapp_gateway.models import GatewayTable
from superapp_gateway.routes import demo_router
from superapp_gateway.settings import Settings


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    routers = [login_router, demo_router] if settings.demo else [login_router]
    return build_service_app(
        settings, title="super-app gateway", metadata=GatewayTable.metadata, routers=routers, transport=transport,
    )
