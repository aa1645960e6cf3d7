"""What every service's ``create_app`` has in common, built per call, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import MetaData
from sqlmodel import Session

from kernel.access import audience_of
from kernel.client import JWKS_PATH, ServiceClient, build_transport
from kernel.database import Database
from kernel.keys import load_or_create_signing_key, public_jwks
from kernel.limits import BodyLimitMiddleware
from kernel.observability import RequestContextMiddleware
from kernel.problems import PROBLEM_RESPONSES, Problem, install_problem_handlers
from kernel.settings import ServiceSettings
from kernel.tokens import AccessTokenVerifier

LocalSeeder = Callable[[Session, ServiceSettings], None]
Seeder = Callable[[FastAPI], Awaitable[None]]


def local_seed(seed: LocalSeeder) -> Seeder:
    """A seed that only writes the service's own tables, in one transaction."""

    async def run(app: FastAPI) -> None:
        await run_in_threadpool(_seed, app.state.database, seed, app.state.settings)

    return run


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
    seed: Seeder | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_startup: Callable[[FastAPI], None] | None = None,
) -> FastAPI:
    """``transport`` replaces the network for outgoing calls (tests wire apps in-process with it);
    ``on_startup`` runs once the app's outgoing HTTP client exists; ``seed`` (demo deployments
    only) after it, so demo data may come from other services.
    """
    database = Database(settings.database_url, metadata)
    signing_key = load_or_create_signing_key(settings.keys_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(database.create_tables)
        http = httpx.AsyncClient(
            transport=transport or build_transport(settings.http_transport),
            timeout=settings.outgoing_timeout_seconds,
        )
        app.state.http = http
        app.state.services = ServiceClient(
            client_id=settings.service_name, signing_key=signing_key,
            identity_url=settings.identity_url, peers=settings.peers, http=http,
        )
        app.state.token_verifier = AccessTokenVerifier(
            issuer=settings.identity_url,
            audience=audience_of(settings.service_name),
            fetch_jwks=app.state.services.fetch_issuer_jwks,
        )
        if on_startup is not None:
            on_startup(app)
        if settings.demo and seed is not None:
            # Before /healthz answers: the launcher's "healthy" then means "seeded" too.
            await seed(app)
        try:
            yield
        finally:
            await http.aclose()
            database.dispose()

    app = FastAPI(
        title=f"citygate {title} ({settings.regime.value} regime)",
        version=_distribution_version(),
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.signing_key = signing_key
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service_name=f"{settings.regime.value}/{settings.service_name}")
    app.include_router(_operational_router(settings))
    for router in routers:
        app.include_router(router)
    return app


def _seed(database: Database, seed: LocalSeeder, settings: ServiceSettings) -> None:
    with database.session() as session:
        seed(session, settings)
        session.commit()


def _operational_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness and database check")
    async def healthz(request: Request) -> dict[str, str]:
        database: Database = request.app.state.database
        try:
            await run_in_threadpool(database.ping)
        except Exception as error:
            raise Problem(503, "The service's database does not answer.", kind="database-unavailable") from error
        return {"status": "ok", "service": settings.service_name, "regime": settings.regime.value}

    if settings.service_name != "identity":
        # The identity service publishes its token-signing keys at this path itself.
        @router.get(JWKS_PATH, summary="This service's public signing key (its client credential)")
        async def jwks(request: Request) -> dict:
            return public_jwks(request.app.state.signing_key)

    return router
