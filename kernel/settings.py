"""Settings shared by every service; each service subclasses with its own env prefix.

Unset addresses default to the loopback topology of the service's regime, so a service
started with no environment at all finds its peers where ``citygate up`` puts them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel import topology
from kernel.access import peers_of
from kernel.regime import Regime

# listen addresses that are no address anyone can call (compared with, never bound to)
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")

    service_name: ClassVar[str]

    regime: Regime = Regime.RIGHTS
    data_dir: Path | None = None
    database_url: str | None = None
    host: str = topology.LOOPBACK
    port: int | None = None
    public_url: str | None = None
    identity_url: str | None = None
    # where a citizen's browser reaches this service and the identity service, when that is
    # not how services reach them (compose: published loopback ports vs. service names)
    browser_url: str | None = None
    identity_browser_url: str | None = None
    peers: dict[str, str] = {}
    # seed demo data and expose demo-only routes (set by `citygate up`, never in production)
    demo: bool = False
    log_level: str = "INFO"
    # aiohttp under httpx measured about 3x httpx's own transport per hop (docs/benchmarks.md)
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    outgoing_timeout_seconds: float = 5.0
    # larger request bodies are refused with 413 before they are read
    max_body_bytes: int = 64 * 1024
    # an OTLP/HTTP (protobuf) traces endpoint (the stage's collector, ``http://127.0.0.1:8000/v1/traces``):
    # this service's spans go there; unset, no span is recorded at all (kernel/tracing.py)
    otlp_endpoint: str | None = None
    # where the replicas of this service keep what they must agree on (``redis://host:port/db``): the
    # courier's replay memory (kernel/envelope_replays.py). Unset: in this process only, which is right
    # for one process per service (``citygate up``) and wrong for replicas behind a load balancer.
    shared_state_url: str | None = None
    # the rights phone's own origin (workshop/citizen_web, e.g. http://127.0.0.1:8210): the one
    # origin whose browser pages may read this service's public keys (kernel/cors.py); unset, none
    citizen_web_origin: str | None = None

    @model_validator(mode="after")
    def _default_to_loopback_topology(self) -> ServiceSettings:
        spec = topology.service(self.service_name)
        if self.port is None:
            self.port = spec.port(self.regime)
        if self.data_dir is None:
            self.data_dir = Path("var") / self.regime.value / self.service_name
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir / (self.service_name + '.db')}"
        if self.public_url is None:
            # A wildcard listen address is not an address anyone can call (nor a token issuer).
            reachable = topology.LOOPBACK if self.host in WILDCARD_HOSTS else self.host
            self.public_url = f"http://{reachable}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        if self.identity_url is None:
            self.identity_url = topology.loopback_url(topology.token_issuer(self.regime).name, self.regime)
        self.identity_url = self.identity_url.rstrip("/")
        self.browser_url = (self.browser_url or self.public_url).rstrip("/")
        self.identity_browser_url = (self.identity_browser_url or self.identity_url).rstrip("/")
        present = {spec.name for spec in topology.services_in(self.regime)}
        for peer in peers_of(self.service_name):
            if peer in present:
                self.peers.setdefault(peer, topology.loopback_url(peer, self.regime))
        self.peers = {name: url.rstrip("/") for name, url in self.peers.items()}
        return self

    @property
    def label(self) -> str:
        """The regime and the service (``rights/fines``), as its logs, spans and shared state name it."""
        return f"{self.regime.value}/{self.service_name}"

    @property
    def keys_dir(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "keys"

    @classmethod
    def deployment_environment(
        cls, regime: Regime, url_of: Callable[[str], str], browser_url_of: Callable[[str], str]
    ) -> dict[str, str]:
        """What places this service among the others of a deployment beyond what every service gets
        (``kernel.topology.service_environment``): environment entries named without the service's
        prefix (``CLIENTS__FINES``). ``url_of`` is how services reach each other, ``browser_url_of``
        how a citizen's browser reaches them. A service that needs none adds none.
        """
        return {}


def settings_env_name(settings_class: type[ServiceSettings], field: str) -> str:
    return f"{settings_class.model_config.get('env_prefix', '')}{field}".upper()
