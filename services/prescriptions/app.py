from __future__ import annotations

import httpx
from fastapi import FastAPI

from kernel.courier import courier_router
from kernel.demo_reset import demo_reset_router
from kernel.service_app import DemoSeed, build_service_app
from services.prescriptions.demo import reset_demo, seed_demo
from services.prescriptions.dependencies import PrescriptionsState
from services.prescriptions.me_routes import router as me_router
from services.prescriptions.models import PrescriptionsTable
from services.prescriptions.operator_routes import router as operator_router
from services.prescriptions.routes import router
from services.prescriptions.settings import Settings


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return build_service_app(
        settings,
        title="hospital and pharmacy (prescriptions)",
        metadata=PrescriptionsTable.metadata,
        routers=[router, me_router, operator_router, courier_router(), demo_reset_router(reset_demo)],
        # the state builds the regime's policy and the payment verifier (services.prescriptions.dependencies)
        state=PrescriptionsState,
        seed=DemoSeed.calling_others(seed_demo),
        transport=transport,
    )
