"""All services of a regime in one process, wired by an httpx transport that routes by host.

Each app gets its own settings, data directory and database (SQLite file or a fresh
PostgreSQL database) exactly as in a real deployment; only the network is replaced.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from kernel import topology
from kernel.regime import Regime


class MeshTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.routes: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()

    def add(self, base_url: str, app: FastAPI) -> None:
        self.routes[urlsplit(base_url).netloc] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.netloc.decode()
        if host in self.down or host not in self.routes:
            raise httpx.ConnectError(f"connection refused: {host}", request=request)
        return await self.routes[host].handle_async_request(request)


class Mesh:
    def __init__(
        self, regime: Regime, data_root: Path, database_urls: dict[str, str] | None = None, *, demo: bool = True
    ) -> None:
        self.regime = regime
        self.transport = MeshTransport()
        self.apps: dict[str, FastAPI] = {}
        self.urls: dict[str, str] = {}
        for spec in topology.services_in(regime):
            overrides = {"database_url": database_urls[spec.name]} if database_urls else {}
            settings = spec.settings_class()(
                regime=regime, data_dir=data_root / regime.value / spec.name, demo=demo, **overrides
            )
            app = spec.app_factory()(settings, transport=self.transport)
            self.apps[spec.name] = app
            self.urls[spec.name] = settings.public_url
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Mesh:
        try:
            # identity first, seeded: every department's demo seed asks it for its sector's subjects
            for name in sorted(self.apps, key=lambda service: service != "identity"):
                app = self.apps[name]
                await self._stack.enter_async_context(app.router.lifespan_context(app))
                # reachable once started, as a real process is: earlier services' background work
                # calling it before then gets "connection refused" and retries
                self.transport.add(self.urls[name], app)
                if name == "identity" and app.state.seed_task is not None:
                    await app.state.seed_task
            # as `citygate up` waits for /healthz, which waits for the demo seeds
            await asyncio.gather(*(app.state.seed_task for app in self.apps.values() if app.state.seed_task))
        except BaseException:
            await self._stack.aclose()  # stop what did start (background tasks included)
            raise
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._stack.aclose()

    def client(self, service: str) -> httpx.AsyncClient:
        """A client for talking to ``service`` as an outside caller would."""
        return httpx.AsyncClient(transport=self.transport, base_url=self.urls[service])

    def stop(self, service: str) -> None:
        self.transport.down.add(urlsplit(self.urls[service]).netloc)

    def start(self, service: str) -> None:
        """Reachable again after ``stop``: the app kept running (and its data), only the network was cut."""
        self.transport.down.discard(urlsplit(self.urls[service]).netloc)
