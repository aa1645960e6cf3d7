"""Consent artefacts and the transparency ledger (rights regime)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from consent.artefacts import ConsentBook
from consent.ledger import Ledger
from consent.ledger_routes import router as ledger_router
from consent.routes import citizen_router, service_router
from consent.settings import Settings
from consent.tables import ConsentTable
from consent.tree_heads import TreeHeadSigner
from kernel.courier import courier_router
from kernel.service_app import build_service_app


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    app = build_service_app(
        settings,
        title="consent ledger",
        metadata=ConsentTable.metadata,
        # the citizen's "my data" also reaches /me/... through the super-app's blind courier
        routers=[service_router, citizen_router, ledger_router, courier_router()],
        transport=transport,
    )
    # the service's clock is app state so tests and workshops can move it (expiry)
    app.state.consent_book = ConsentBook(
        ledger=Ledger(app.state.database),
        signing_key=app.state.signing_key,
        issuer=settings.public_url,
        clock=utc_now,
    )
    app.state.tree_heads = TreeHeadSigner(app.state.signing_key, settings.public_url)
    app.state.subject_links = {}  # (client, pseudonym) -> citizen key, see consent.subjects
    return app
