"""The browser-facing apps ``citygate up`` starts beside the services: the stage (the facilitator's page)
and the citizen's own app (the rights regime's phone).

They are no service of either regime (no regime setting, no token issuer's client of their own), so
they are not in ``kernel.topology``; their ports follow the platform regime's base port as the
services' do (``--base-port B``: the stage at B-100, the citizen's app at B+110).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI

from kernel import topology
from kernel.regime import Regime


class WebAppFactory(Protocol):
    def __call__(self, settings: Any) -> FastAPI: ...


@dataclass(frozen=True)
class WebAppSpec:
    name: str  # as `citygate serve <name>` takes it
    package: str  # holds ``app.create_app(settings)`` and ``settings.Settings``
    title: str
    port_offset: int  # from the platform regime's base port

    @property
    def env_prefix(self) -> str:
        return f"CITYGATE_{self.name.upper().replace('-', '_')}_"

    def port(self, base_ports: dict[Regime, int] = topology.BASE_PORT) -> int:
        return base_ports[Regime.PLATFORM] + self.port_offset

    def url(self, base_ports: dict[Regime, int] = topology.BASE_PORT) -> str:
        return f"http://{topology.LOOPBACK}:{self.port(base_ports)}"

    def settings_class(self) -> type[Any]:
        settings_class: type[Any] = importlib.import_module(f"{self.package}.settings").Settings
        return settings_class

    def build_app(self, settings: Any) -> FastAPI:
        create_app: WebAppFactory = importlib.import_module(f"{self.package}.app").create_app
        return create_app(settings)


STAGE = WebAppSpec("stage", "workshop.stage", "the stage (the facilitator's page)", -100)
CITIZEN_WEB = WebAppSpec("citizen-web", "workshop.citizen_web", "the citizen's own app (rights phone)", 110)
WEB_APPS: tuple[WebAppSpec, ...] = (STAGE, CITIZEN_WEB)
BY_NAME = {app.name: app for app in WEB_APPS}
