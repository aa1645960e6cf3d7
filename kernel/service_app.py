"""What every service's ``create_app`` has in common, built per call, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import MetaData
from sqlmodel import Session

from kernel.access import audience_of
from kernel.at_rest import private_directory, tighten_tree
from kernel.client import JWKS_PATH, ServiceClient, build_transport
from kernel.cors import allow_citizen_web
from kernel.database import Database
from kernel.dependencies import ServiceStateDep
from kernel.envelope_replays import envelope_memory
from kernel.keys import load_or_create_encryption_key, load_or_create_signing_key, service_jwks
from kernel.limits import BodyLimitMiddleware
from kernel.metrics import EXPOSITION_MEDIA_TYPE
from kernel.observability import RequestContextMiddleware
from kernel.operators import OperatorUnauthenticated, load_or_create_operator_secret, require_operator
from kernel.problems import (
    PROBLEM_RESPONSES,
    DatabaseUnavailable,
    Problem,
    SeedFailed,
    Seeding,
    dependency_problems,
    install_problem_handlers,
    problem_responses,
    with_problems,
)
from kernel.settings import ServiceSettings
from kernel.state import Connections, ServiceState, attach_state, state_of
from kernel.tokens import AccessTokenVerifier
from kernel.tracing import Tracing, TracingTransport

LocalSeeder = Callable[[Session, Any], None]
log = logging.getLogger("citygate.service")


@dataclass(frozen=True)
class DemoSeed:
    """Demo data a deployment started with ``demo`` loads at start.

    ``before_serving``: the seed calls no other service, so it finishes before the app serves and
    nobody sees half of it. Otherwise it may be called back (the identity service fetches this
    service's key to check its token request), so it runs once the app serves, and /healthz says
    503 "seeding" until it is done.
    """

    load: Callable[[FastAPI], Awaitable[None]]
    before_serving: bool

    @classmethod
    def calling_others(cls, load: Callable[[FastAPI], Awaitable[None]]) -> DemoSeed:
        return cls(load=load, before_serving=False)


def local_seed(seed: LocalSeeder) -> DemoSeed:
    """A seed that only writes the service's own tables, in one transaction: ``seed(session, settings)``."""

    async def load(app: FastAPI) -> None:
        state = state_of(app, ServiceState)
        await run_in_threadpool(_seed, state.database, seed, state.settings)

    return DemoSeed(load=load, before_serving=True)


@functools.cache
def _distribution_version() -> str:
    try:
        return version("citygate")
    except PackageNotFoundError:
        return "0.0.0"


def build_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    metadata: MetaData,
    routers: Iterable[APIRouter] = (),
    state: Callable[..., ServiceState[Any]] = ServiceState,
    seed: DemoSeed | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_startup: Callable[[FastAPI], None] | None = None,
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
    publishes_service_keys: bool = True,
) -> FastAPI:
    """``state`` builds the service's typed state (``kernel.state``) from the keyword arguments
    ``settings``, ``database``, ``signing_key``, ``encryption_key``, ``operator_secret``: the service's ``ServiceState``
    subclass, or a ``functools.partial`` of it carrying the service's own fields (its policy).
    ``transport`` replaces the network for outgoing calls (tests wire apps in-process with it);
    ``on_startup`` runs once the app's outgoing HTTP client exists; ``seed`` (demo deployments
    only) after it, so demo data may come from other services. ``on_shutdown`` runs before the
    HTTP client and the database close — also when start-up fails after ``on_startup`` ran.
    ``publishes_service_keys``: serve the service's public keys at ``JWKS_PATH`` (off for a service
    that publishes other keys there itself: the token issuer).
    """
    assert settings.data_dir is not None
    # private to the service (kernel.at_rest): the directory, its keys, and (in Database) a SQLite
    # database with its companions; nothing else in it is citygate's to change
    private_directory(settings.data_dir)
    tighten_tree(settings.keys_dir)
    assert settings.database_url is not None
    database = Database(settings.database_url, metadata)
    service = state(
        settings=settings,
        database=database,
        signing_key=load_or_create_signing_key(settings.keys_dir),
        encryption_key=load_or_create_encryption_key(settings.keys_dir),
        operator_secret=load_or_create_operator_secret(settings.keys_dir),
    )
    service_label = settings.label
    # the app's own provider, not the global one: the tests run many apps in one process
    service.tracing = tracing = Tracing(service_label, settings.otlp_endpoint)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(database.migrate)
        tracing.start()
        http = httpx.AsyncClient(
            transport=TracingTransport(transport or build_transport(settings.http_transport), tracing),
            timeout=settings.outgoing_timeout_seconds,
        )
        assert settings.identity_url is not None
        services = ServiceClient(
            client_id=settings.service_name,
            signing_key=service.signing_key,
            identity_url=settings.identity_url,
            peers=settings.peers,
            http=http,
        )
        verifier = AccessTokenVerifier(
            issuer=settings.identity_url,
            audience=audience_of(settings.service_name),
            fetch_jwks=services.fetch_issuer_jwks,
        )
        service.connections = Connections(http=http, services=services, token_verifier=verifier)
        service.seen_envelopes = envelope_memory(settings.shared_state_url, service_label)
        try:
            if on_startup is not None:
                on_startup(app)
            async with _stopping(app, on_shutdown):
                await _start_seed(app)
                yield
        finally:
            await http.aclose()
            await service.seen_envelopes.close()
            database.dispose()
            # the last batch goes out here: a blocking HTTP call, so not on the event loop
            await run_in_threadpool(tracing.stop)

    async def _start_seed(app: FastAPI) -> None:
        # "healthy" means "seeded": see DemoSeed for when each kind of seed runs. A restarted app
        # (the same object started again) starts from no seed task, not the last run's.
        service.seed_task = None
        if settings.demo and seed is not None:
            if seed.before_serving:
                await seed.load(app)
            else:
                service.seed_task = asyncio.create_task(_run_seed(app, seed))

    app = FastAPI(
        title=f"citygate {title} ({settings.regime.value} regime)",
        version=_distribution_version(),
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    attach_state(app, service)
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service_name=service_label, tracing=tracing, metrics=service.metrics)
    app.include_router(_operational_router(publishes_service_keys=publishes_service_keys))
    # the citizen's own web app seals to a department's key it fetches itself (not via the gateway)
    allow_citizen_web(app, settings.citizen_web_origin, [JWKS_PATH])
    for router in routers:
        _list_dependency_problems(router)
        app.include_router(router)
    return app


def _list_dependency_problems(router: APIRouter) -> None:
    """Each route's OpenAPI lists what its dependencies answer with (``kernel.problems.answers``)
    beside its own kinds: the token and citizen checks' 401s and 403s, wherever they are used. The
    routers are the services' module-level ones, shared by every app built from them: what is added
    depends only on the route itself, and adding it again changes nothing."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            kinds = _problems_of(route.dependant)
            if kinds:
                route.responses = with_problems(dict(route.responses), *kinds)


def _problems_of(dependant: Dependant) -> tuple[type[Problem], ...]:
    found: list[type[Problem]] = []
    for dependency in dependant.dependencies:
        found.extend(dependency_problems(dependency.call))
        found.extend(_problems_of(dependency))
    return tuple(dict.fromkeys(found))


@contextlib.asynccontextmanager
async def _stopping(app: FastAPI, on_shutdown: Callable[[FastAPI], Awaitable[None]] | None) -> AsyncIterator[None]:
    try:
        yield
    finally:
        task = state_of(app, ServiceState).seed_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if on_shutdown is not None:
            await on_shutdown(app)


# How long a seed waits for its own service to answer at its public address (see _run_seed).
SELF_REACHABLE_TIMEOUT_SECONDS = 30.0


async def _run_seed(app: FastAPI, seed: DemoSeed) -> None:
    try:
        await _until_reachable(state_of(app, ServiceState))
        await seed.load(app)
    except Exception:
        log.exception("the demo seed failed; /healthz stays 503")
        raise


async def _until_reachable(service: ServiceState[Any]) -> None:
    """Wait until this service answers at its public address.

    The lifespan that starts the seed runs before the server binds its port, and a seed's first
    call is a token request whose ``private_key_jwt`` the identity service checks by fetching this
    service's JWKS: asked too early, it finds nobody there and refuses the token (seen in CI as
    ``invalid_client No key for kid``, and the service stuck at /healthz 503 "seed-failed")."""
    url = f"{service.settings.public_url}{JWKS_PATH}"
    deadline = asyncio.get_running_loop().time() + SELF_REACHABLE_TIMEOUT_SECONDS
    while True:
        try:
            if (await service.http.get(url, timeout=2.0)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if asyncio.get_running_loop().time() >= deadline:
            log.warning("%s does not answer at %s; seeding anyway", service.settings.service_name, url)
            return
        await asyncio.sleep(0.05)


def _seed_problem(service: ServiceState[Any]) -> Problem | None:
    task = service.seed_task
    if task is None:
        return None
    if not task.done():
        return Seeding("Demo data is still being loaded.")
    if task.cancelled() or task.exception() is not None:
        return SeedFailed("Loading the demo data failed; see the service's log.")
    return None


def _seed(database: Database, seed: LocalSeeder, settings: ServiceSettings) -> None:
    with database.session() as session:
        seed(session, settings)
        session.commit()


@functools.cache
def _operational_router(*, publishes_service_keys: bool) -> APIRouter:
    """Shared by every app (FastAPI's route set-up is the costly part of building one)."""
    router = APIRouter(tags=["operations"])

    @router.get(
        "/healthz",
        summary="Liveness and database check",
        responses=problem_responses(DatabaseUnavailable, Seeding, SeedFailed),
    )
    async def healthz(service: ServiceStateDep) -> dict[str, str]:
        try:
            await run_in_threadpool(service.database.ping)
        except Exception as error:
            raise DatabaseUnavailable("The service's database does not answer.") from error
        if problem := _seed_problem(service):
            raise problem
        settings = service.settings
        return {"status": "ok", "service": settings.service_name, "regime": settings.regime.value}

    @router.get(
        "/metrics",
        summary="Requests, latency and errors per route, in Prometheus's text format (the service's operators)",
        response_class=Response,
        dependencies=[Depends(require_operator)],
        responses={
            200: {"content": {EXPOSITION_MEDIA_TYPE: {}}, "description": "The metrics"},
            **problem_responses(OperatorUnauthenticated),
        },
    )
    async def metrics(service: ServiceStateDep) -> Response:
        # a service's own gauges may read its database: not on the event loop
        return Response(await run_in_threadpool(service.metrics.exposition), media_type=EXPOSITION_MEDIA_TYPE)

    if publishes_service_keys:

        @router.get(JWKS_PATH, summary="This service's public keys: signing (its client credential) and encryption")
        async def jwks(service: ServiceStateDep) -> dict[str, Any]:
            return service_jwks(service.signing_key, service.encryption_key)

    return router
