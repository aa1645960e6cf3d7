from __future__ import annotations

import functools

import httpx
from fastapi import FastAPI

from kernel.courier import courier_router
from kernel.demo_reset import demo_reset_router
from kernel.service_app import DemoSeed, build_service_app
from kernel.state import state_of
from services.fines.demo import reset_demo, seed_demo
from services.fines.dependencies import FinesState
from services.fines.me_routes import router as me_router
from services.fines.models import FinesTable
from services.fines.operator_routes import router as operator_router
from services.fines.policy import policy_for
from services.fines.routes import router
from services.fines.settings import Settings


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return build_service_app(
        settings,
        title="traffic police (fines)",
        metadata=FinesTable.metadata,
        routers=[router, me_router, operator_router, courier_router(), demo_reset_router(reset_demo)],
        # the regime's one policy object; the state also holds the payment verifier and the worker
        state=functools.partial(FinesState, policy=policy_for(settings.regime)),
        seed=DemoSeed.calling_others(seed_demo),
        transport=transport,
        on_startup=_start,
        on_shutdown=_stop,
    )


def _start(app: FastAPI) -> None:
    state = state_of(app, FinesState)
    state.worker.start(lease=state.lease(state.worker.name))  # of several replicas, one sweeps and reports


async def _stop(app: FastAPI) -> None:
    await state_of(app, FinesState).worker.stop()
