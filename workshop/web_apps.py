"""The browser-facing apps ``citygate up`` starts beside the services: the stage (the facilitator's page)
and the citizen's own app (the rights regime's phone).

They are no service of either regime (no regime setting, no token issuer's client of their own), so
they are not in ``kernel.topology``; their ports follow the platform regime's base port as the
services' do (``--base-port B``: the stage at B-100, the citizen's app at B+110).
"""

from __future__ import annotations

import importlib
import json
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

# where the stage's collector takes spans (OTLP/HTTP), below the stage's address
COLLECTOR_PATH = "/v1/traces"


def stage_environment(
    settings_class: type[Any],
    prefix: str,
    *,
    collector_url: str,
    stage_origin: str,
    citizen_web_origin: str | None = None,
) -> dict[str, str]:
    """What ties a service or web app to the stage: its spans to the stage's collector (an address
    the app itself calls), its pages framed by the stage, and (rights regime) the citizen's app
    allowed to use its APIs (two origins, as a browser sees them). Only what ``settings_class``
    reads: the launcher and the compose file both place an app through this function.
    """
    wanted = {
        "otlp_endpoint": collector_url + COLLECTOR_PATH,
        "stage_origin": stage_origin,
        "citizen_web_origin": citizen_web_origin,
    }
    fields = settings_class.model_fields
    return {prefix + name.upper(): value for name, value in wanted.items() if value is not None and name in fields}


def web_app_environment(app: WebAppSpec, base_ports: dict[Regime, int] = topology.BASE_PORT) -> dict[str, str]:
    """Where a web app listens and where a browser reaches what it shows: the stage, the platform
    regime's first port (it derives the phones' and services' addresses); the citizen's app, the
    rights services its page talks to. Browser addresses, the same under ``citygate up`` and compose."""
    prefix = app.env_prefix
    env = {f"{prefix}PORT": str(app.port(base_ports))}
    if app is STAGE:
        env[f"{prefix}BASE_PORT"] = str(base_ports[Regime.PLATFORM])
    if app is CITIZEN_WEB:

        def rights(name: str) -> str:
            return topology.loopback_url(name, Regime.RIGHTS, base_ports)

        env[f"{prefix}GATEWAY_URL"] = rights("gateway")
        env[f"{prefix}IDENTITY_URL"] = rights("identity")
        # every rights service but the two the app reaches as such: the page fetches keys from them
        others = [spec.name for spec in topology.services_in(Regime.RIGHTS) if spec.name not in ("gateway", "identity")]
        env[f"{prefix}DEPARTMENTS"] = json.dumps({name: rights(name) for name in others})
    return env
