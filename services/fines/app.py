from __future__ import annotations

import httpx
from fastapi import FastAPI

from kernel.service_app import build_service_app
from services.fines.demo import seed_demo
from services.fines.models import FinesTable
from services.fines.routes import router
from services.fines.settings import Settings


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return build_service_app(
        settings, title="traffic police (fines)", metadata=FinesTable.metadata,
        routers=[router], seed=seed_demo, transport=transport,
    )
