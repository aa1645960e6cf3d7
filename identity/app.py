from __future__ import annotations

import httpx
from fastapi import FastAPI

from identity.client_registry import ClientKeyDirectory
from identity.models import IdentityTable
from identity.routes import router
from identity.settings import Settings
from identity.token_server import ServiceTokenServer
from kernel.client import TOKEN_PATH
from kernel.service_app import build_service_app


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    def start_token_server(app: FastAPI) -> None:
        app.state.token_server = ServiceTokenServer(
            issuer=settings.public_url,
            token_endpoint=settings.public_url + TOKEN_PATH,
            signing_key=app.state.signing_key,
            ttl_seconds=settings.access_token_ttl_seconds,
            keys=ClientKeyDirectory(settings.clients, app.state.http),
            database=app.state.database,
        )

    return build_service_app(
        settings, title="identity", metadata=IdentityTable.metadata, routers=[router],
        transport=transport, on_startup=start_token_server,
    )
