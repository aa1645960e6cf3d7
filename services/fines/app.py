from __future__ import annotations

import httpx
from fastapi import FastAPI

from kernel.courier import courier_router
from kernel.service_app import DemoSeed, build_service_app
from services.fines.confirmations import install_verifier
from services.fines.demo import seed_demo
from services.fines.domain import utc_now
from services.fines.me_routes import router as me_router
from services.fines.models import FinesTable
from services.fines.policy import policy_for
from services.fines.routes import router
from services.fines.settings import Settings
from services.fines.worker import FinesWorker


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    app = build_service_app(
        settings,
        title="traffic police (fines)",
        metadata=FinesTable.metadata,
        routers=[router, me_router, courier_router()],
        seed=DemoSeed.calling_others(seed_demo),
        transport=transport,
        on_startup=_start,
        on_shutdown=_stop,
    )
    # The department's clock (tests and workshops move it) and the regime's one policy object.
    app.state.clock = utc_now
    app.state.policy = policy_for(settings.regime)
    return app


def _start(app: FastAPI) -> None:
    install_verifier(app)
    worker = FinesWorker(app, interval_seconds=app.state.settings.worker_interval_seconds)
    app.state.fines_worker = worker
    worker.start()


async def _stop(app: FastAPI) -> None:
    worker: FinesWorker | None = getattr(app.state, "fines_worker", None)
    if worker is not None:
        await worker.stop()
