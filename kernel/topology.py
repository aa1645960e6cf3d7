"""Which services exist, in which regime, where they listen, and what role each plays.

This is the one place the launcher, the compose file, the settings defaults and the
tests take service names and ports from. What the kernel needs to know about a service's
part in a deployment is declared here as data (``issues_tokens``, ``relying_party``), never
inferred from its name; what only the service itself needs to be placed (the token issuer's
clients, say) its settings class declares (``ServiceSettings.deployment_environment``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kernel.regime import Regime

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from kernel.settings import ServiceSettings

LOOPBACK = "127.0.0.1"
BASE_PORT = {Regime.PLATFORM: 8100, Regime.RIGHTS: 8200}
BOTH = frozenset(Regime)
# Where the token issuer sends a citizen back to a relying party after the login (every relying party).
CALLBACK_PATH = "/auth/callback"


class AppFactory(Protocol):
    """A service's ``create_app``: ``transport`` replaces the network (tests wire apps in-process)."""

    def __call__(self, settings: ServiceSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI: ...


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    package: str
    title: str
    port_offset: int
    regimes: frozenset[Regime] = BOTH
    # the regime's token issuer (OAuth 2.0 / OpenID Connect): every other service is its client,
    # and every service's ``identity_url`` points at it
    issues_tokens: bool = False
    # logs citizens in through the token issuer (authorization code flow), coming back at CALLBACK_PATH
    relying_party: bool = False

    @property
    def env_prefix(self) -> str:
        return f"CITYGATE_{self.name.upper()}_"

    def port(self, regime: Regime, base_ports: dict[Regime, int] = BASE_PORT) -> int:
        return base_ports[regime] + self.port_offset

    def settings_class(self) -> type[ServiceSettings]:
        settings_class: type[ServiceSettings] = importlib.import_module(f"{self.package}.settings").Settings
        return settings_class

    def app_factory(self) -> AppFactory:
        create_app: AppFactory = importlib.import_module(f"{self.package}.app").create_app
        return create_app

    def build_app(self, settings: ServiceSettings) -> FastAPI:
        return self.app_factory()(settings)


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("gateway", "superapp_gateway", "super-app gateway", 0, relying_party=True),
    ServiceSpec("identity", "identity", "identity provider (OIDC)", 1, issues_tokens=True),
    ServiceSpec("consent", "consent", "consent ledger", 2, frozenset({Regime.RIGHTS})),
    ServiceSpec("pod", "pod", "personal data pod", 3, frozenset({Regime.RIGHTS})),
    ServiceSpec("fines", "services.fines", "traffic police (fines)", 4, relying_party=True),
    ServiceSpec("appointments", "services.appointments", "civil affairs bureau", 5, relying_party=True),
    ServiceSpec("prescriptions", "services.prescriptions", "hospital and pharmacy", 6, relying_party=True),
    ServiceSpec("credit", "services.credit", "credit-sharing platform", 7, frozenset({Regime.PLATFORM})),
)
BY_NAME = {spec.name: spec for spec in SERVICES}


def service(name: str) -> ServiceSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(BY_NAME)}") from None


def services_in(regime: Regime) -> tuple[ServiceSpec, ...]:
    return tuple(spec for spec in SERVICES if regime in spec.regimes)


def token_issuer(regime: Regime) -> ServiceSpec:
    """The one service of ``regime`` that issues tokens (``issues_tokens``)."""
    issuers = [spec for spec in services_in(regime) if spec.issues_tokens]
    if len(issuers) != 1:
        raise LookupError(f"the {regime.value} regime has {len(issuers)} token issuers; it needs exactly one")
    return issuers[0]


def loopback_url(name: str, regime: Regime, base_ports: dict[Regime, int] = BASE_PORT) -> str:
    return f"http://{LOOPBACK}:{service(name).port(regime, base_ports)}"


def base_ports_from(platform_base: int) -> dict[Regime, int]:
    """Shift both regimes together (``--base-port``), keeping rights 100 ports above platform."""
    return {Regime.PLATFORM: platform_base, Regime.RIGHTS: platform_base + 100}


def service_environment(
    spec: ServiceSpec,
    regime: Regime,
    url_of: Callable[[str], str],
    *,
    listen_port: int,
    demo: bool,
    browser_url_of: Callable[[str], str] | None = None,
) -> dict[str, str]:
    """The environment that places one service in a deployment: the launcher and the
    compose file both describe a deployment through this function.

    ``url_of`` is how services reach each other; ``browser_url_of`` how a citizen's browser
    reaches them (login redirects), when that differs (compose: published loopback ports).
    What a service needs beyond what every service gets, its settings class adds
    (``ServiceSettings.deployment_environment``).
    """
    from kernel.access import peers_of

    prefix = spec.env_prefix
    issuer = token_issuer(regime).name
    env = {
        f"{prefix}REGIME": regime.value,
        f"{prefix}PORT": str(listen_port),
        f"{prefix}PUBLIC_URL": url_of(spec.name),
        f"{prefix}IDENTITY_URL": url_of(issuer),
        f"{prefix}DEMO": "true" if demo else "false",
    }
    if browser_url_of is not None:
        env[f"{prefix}BROWSER_URL"] = browser_url_of(spec.name)
        env[f"{prefix}IDENTITY_BROWSER_URL"] = browser_url_of(issuer)
    present = {other.name for other in services_in(regime)}
    for peer in peers_of(spec.name):
        if peer in present:
            env[f"{prefix}PEERS__{peer.upper()}"] = url_of(peer)
    own = spec.settings_class().deployment_environment(regime, url_of, browser_url_of or url_of)
    env.update({prefix + name: value for name, value in own.items()})
    return env
