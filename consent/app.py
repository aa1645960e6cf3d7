"""The consent service's app: its state, its routers, nothing else."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from consent.demo import reset_demo
from consent.dependencies import ConsentState
from consent.ledger_routes import router as ledger_router
from consent.me_routes import router as citizen_router
from consent.models import ConsentTable
from consent.routes import router as service_router
from consent.settings import Settings
from kernel.courier import courier_router
from kernel.demo_reset import demo_reset_router
from kernel.service_app import build_service_app
from kernel.state import state_of


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return build_service_app(
        settings,
        title="consent ledger",
        metadata=ConsentTable.metadata,  # every table of the service is declared in consent.models
        # the citizen's "my data" also reaches /me/... through the super-app's blind courier
        routers=[service_router, citizen_router, ledger_router, courier_router(), demo_reset_router(reset_demo)],
        state=ConsentState,
        transport=transport,
        on_startup=_count_the_ledger,
    )


def _count_the_ledger(app: FastAPI) -> None:
    """The log's size at every scrape of /metrics (one read of its head row)."""
    state = state_of(app, ConsentState)
    ledger = state.consent_book.ledger
    state.metrics.add_gauge("citygate_ledger_entries", "Entries in the transparency log", lambda: float(ledger.size()))
