from __future__ import annotations

import httpx
from fastapi import FastAPI

from kernel.courier import courier_router
from kernel.service_app import DemoSeed, build_service_app
from services.appointments.demo import seed_demo
from services.appointments.me_routes import router as me_router
from services.appointments.models import AppointmentsTable
from services.appointments.policy import admission_policy
from services.appointments.routes import router
from services.appointments.settings import Settings


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    app = build_service_app(
        settings,
        title="civil affairs bureau (appointments)",
        metadata=AppointmentsTable.metadata,
        routers=[router, me_router, courier_router()],
        seed=DemoSeed.calling_others(seed_demo),
        transport=transport,
    )
    # the one regime switch of this department: who may book (services/appointments/policy.py)
    app.state.admission_policy = admission_policy(settings.regime)
    return app
