"""A service's typed state: one object per app, built by ``kernel.service_app.build_service_app``.

Starlette's ``app.state`` is an untyped bag; citygate keeps exactly one thing in it, ``service``,
an instance of ``ServiceState`` or of the service's own subclass (its ``dependencies.py``), which
adds what that service's routes and workers use (its policy, its workers, its caches). Routes reach
it through typed dependencies (``kernel.dependencies`` and the service's ``dependencies.py``), other
code through ``state_of(app, TheServiceState)``.

What exists only while the app serves (its outgoing HTTP client, the service client built on it, the
token verifier) is attached at start by the lifespan (``Connections``); reading it before is a bug
and says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
from fastapi import FastAPI
from joserfc.jwk import ECKey

from kernel.clock import Clock, utc_now
from kernel.database import Database
from kernel.envelope_replays import EnvelopeMemory, SeenEnvelopes
from kernel.leases import Lease, lease_for
from kernel.metrics import RequestMetrics
from kernel.settings import ServiceSettings
from kernel.tracing import Tracing

if TYPE_CHECKING:  # annotations only: the token and client modules read this one's state
    import httpx

    from kernel.client import ServiceClient
    from kernel.tokens import AccessTokenVerifier

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
StateT = TypeVar("StateT", bound="ServiceState[Any]")
STATE_ATTRIBUTE = "service"
# The pool's connections that routes' sessions (SessionDep) never hold all of: what code opening a
# session of its own on a worker thread (the gateway's session look-ups, the background workers) uses.
CONNECTIONS_KEPT_FOR_WORKERS = 5


@dataclass(frozen=True)
class Connections:
    """What a serving app uses to reach others and to check who calls it."""

    http: httpx.AsyncClient
    services: ServiceClient
    token_verifier: AccessTokenVerifier


@dataclass(kw_only=True, eq=False)
class ServiceState(Generic[SettingsT]):
    settings: SettingsT
    database: Database
    signing_key: ECKey  # the service's client credential (private_key_jwt) and statement signer
    encryption_key: ECKey  # what citizens' devices seal courier envelopes to
    operator_secret: str  # the credential of the service's own operators (kernel.operators)
    clock: Clock = utc_now  # the service's "now"; tests and workshops move it
    seed_task: asyncio.Task[None] | None = None
    connections: Connections | None = field(default=None, repr=False)
    # the app's spans (kernel/tracing.py); build_service_app gives it the app's service name and endpoint
    tracing: Tracing = field(default_factory=lambda: Tracing("unnamed"), repr=False)
    # requests answered and their latency, for GET /metrics (kernel/metrics.py)
    metrics: RequestMetrics = field(default_factory=RequestMetrics, repr=False)
    # how many routes hold a database session at once (kernel/dependencies.py); None: unbounded
    session_slots: anyio.Semaphore | None = field(init=False, default=None, repr=False)
    # the reply keys of the sealed requests relayed lately (kernel/courier.py): this app's, or (with
    # settings.shared_state_url) every replica's, set by the lifespan while the app serves
    seen_envelopes: EnvelopeMemory = field(default_factory=SeenEnvelopes, repr=False)

    def __post_init__(self) -> None:
        connections = self.database.connections
        if connections is not None:
            self.session_slots = anyio.Semaphore(max(1, connections - CONNECTIONS_KEPT_FOR_WORKERS))

    def lease(self, duty: str) -> Lease:
        """The lease of one of this service's background duties among its replicas (kernel/leases.py)."""
        return lease_for(self.settings.shared_state_url, self.settings.label, duty)

    def _connected(self) -> Connections:
        if self.connections is None:
            raise RuntimeError(f"the {self.settings.service_name} service is not serving: no connections yet")
        return self.connections

    @property
    def http(self) -> httpx.AsyncClient:
        return self._connected().http

    @property
    def services(self) -> ServiceClient:
        return self._connected().services

    @property
    def token_verifier(self) -> AccessTokenVerifier:
        return self._connected().token_verifier


def state_of(app: FastAPI, kind: type[StateT]) -> StateT:
    """The app's typed state, checked to be ``kind`` (a service's own subclass, or ``ServiceState``)."""
    state = getattr(app.state, STATE_ATTRIBUTE, None)
    if not isinstance(state, kind):
        raise TypeError(f"app state is {type(state).__name__}, not {kind.__name__}")
    return state


def attach_state(app: FastAPI, state: ServiceState[Any]) -> None:
    setattr(app.state, STATE_ATTRIBUTE, state)
