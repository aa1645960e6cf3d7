"""The civil affairs bureau (appointments): ``create_app`` builds the app, nothing else."""

from __future__ import annotations

from functools import partial

import httpx
from fastapi import FastAPI

from kernel.courier import courier_router
from kernel.demo_reset import demo_reset_router
from kernel.service_app import DemoSeed, build_service_app
from services.appointments.demo import reset_demo, seed_demo
from services.appointments.dependencies import AppointmentsState
from services.appointments.me_routes import router as me_router
from services.appointments.models import AppointmentsTable
from services.appointments.operator_routes import router as operator_router
from services.appointments.policy import policy_for
from services.appointments.routes import router
from services.appointments.settings import Settings


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return build_service_app(
        settings,
        title="civil affairs bureau (appointments)",
        metadata=AppointmentsTable.metadata,
        routers=[router, me_router, operator_router, courier_router(), demo_reset_router(reset_demo)],
        # the one regime switch of this department: who may book (services/appointments/policy.py)
        state=partial(AppointmentsState, policy=policy_for(settings.regime)),
        seed=DemoSeed.calling_others(seed_demo),
        transport=transport,
    )
