"""What every service's ``create_app`` has in common, built per call, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import MetaData
from sqlmodel import Session

from kernel.access import audience_of
from kernel.at_rest import private_directory, tighten_tree
from kernel.client import JWKS_PATH, ServiceClient, build_transport
from kernel.database import Database
from kernel.keys import load_or_create_encryption_key, load_or_create_signing_key, service_jwks
from kernel.limits import BodyLimitMiddleware
from kernel.observability import RequestContextMiddleware
from kernel.problems import PROBLEM_RESPONSES, Problem, install_problem_handlers
from kernel.settings import ServiceSettings
from kernel.tokens import AccessTokenVerifier

LocalSeeder = Callable[[Session, ServiceSettings], None]
Seeder = Callable[[FastAPI], Awaitable[None]]
log = logging.getLogger("citygate.service")


def local_seed(seed: LocalSeeder) -> Seeder:
    """A seed that only writes the service's own tables, in one transaction."""

    async def run(app: FastAPI) -> None:
        await run_in_threadpool(_seed, app.state.database, seed, app.state.settings)

    run.before_serving = True  # calls no one, so it can finish before anyone can ask
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
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
) -> FastAPI:
    """``transport`` replaces the network for outgoing calls (tests wire apps in-process with it);
    ``on_startup`` runs once the app's outgoing HTTP client exists; ``seed`` (demo deployments
    only) after it, so demo data may come from other services. ``on_shutdown`` runs before the
    HTTP client and the database close — also when start-up fails after ``on_startup`` ran.
    """
    assert settings.data_dir is not None
    # private to the service (kernel.at_rest): the directory, its keys, and (in Database) a SQLite
    # database with its companions; nothing else in it is citygate's to change
    private_directory(settings.data_dir)
    tighten_tree(settings.keys_dir)
    database = Database(settings.database_url, metadata)
    signing_key = load_or_create_signing_key(settings.keys_dir)
    encryption_key = load_or_create_encryption_key(settings.keys_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(database.migrate)
        http = httpx.AsyncClient(
            transport=transport or build_transport(settings.http_transport),
            timeout=settings.outgoing_timeout_seconds,
        )
        app.state.http = http
        app.state.services = ServiceClient(
            client_id=settings.service_name,
            signing_key=signing_key,
            identity_url=settings.identity_url,
            peers=settings.peers,
            http=http,
        )
        app.state.token_verifier = AccessTokenVerifier(
            issuer=settings.identity_url,
            audience=audience_of(settings.service_name),
            fetch_jwks=app.state.services.fetch_issuer_jwks,
        )
        try:
            if on_startup is not None:
                on_startup(app)
            async with _stopping(app, on_shutdown):
                await _start_seed(app)
                yield
        finally:
            await http.aclose()
            database.dispose()

    async def _start_seed(app: FastAPI) -> None:
        # A local seed finishes before the service serves, so nobody sees half its demo data.
        # A seed that calls other services may be called back (the identity service fetches this
        # service's key to check its token request), so it runs once this service is serving;
        # /healthz says 503 "seeding" until it is done, so "healthy" still means "seeded".
        app.state.seed_task = None
        if settings.demo and seed is not None:
            if getattr(seed, "before_serving", False):
                await seed(app)
            else:
                app.state.seed_task = asyncio.create_task(_run_seed(app, seed))

    app = FastAPI(
        title=f"citygate {title} ({settings.regime.value} regime)",
        version=_distribution_version(),
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.signing_key = signing_key
    app.state.encryption_key = encryption_key  # what citizens' devices seal courier envelopes to
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service_name=f"{settings.regime.value}/{settings.service_name}")
    app.include_router(_operational_router(settings))
    for router in routers:
        app.include_router(router)
    return app


@contextlib.asynccontextmanager
async def _stopping(app: FastAPI, on_shutdown: Callable[[FastAPI], Awaitable[None]] | None) -> AsyncIterator[None]:
    try:
        yield
    finally:
        task: asyncio.Task | None = getattr(app.state, "seed_task", None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if on_shutdown is not None:
            await on_shutdown(app)


# How long a seed waits for its own service to answer at its public address (see _run_seed).
SELF_REACHABLE_TIMEOUT_SECONDS = 30.0


async def _run_seed(app: FastAPI, seed: Seeder) -> None:
    try:
        await _until_reachable(app)
        await seed(app)
    except Exception:
        log.exception("the demo seed failed; /healthz stays 503")
        raise


async def _until_reachable(app: FastAPI) -> None:
    """Wait until this service answers at its public address.

    The lifespan that starts the seed runs before the server binds its port, and a seed's first
    call is a token request whose ``private_key_jwt`` the identity service checks by fetching this
    service's JWKS: asked too early, it finds nobody there and refuses the token (seen in CI as
    ``invalid_client No key for kid``, and the service stuck at /healthz 503 "seed-failed")."""
    url = app.state.settings.public_url + JWKS_PATH
    deadline = asyncio.get_running_loop().time() + SELF_REACHABLE_TIMEOUT_SECONDS
    while True:
        try:
            if (await app.state.http.get(url, timeout=2.0)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if asyncio.get_running_loop().time() >= deadline:
            log.warning("%s does not answer at %s; seeding anyway", app.state.settings.service_name, url)
            return
        await asyncio.sleep(0.05)


def _seed_problem(app: FastAPI) -> Problem | None:
    task: asyncio.Task | None = getattr(app.state, "seed_task", None)
    if task is None:
        return None
    if not task.done():
        return Problem(503, "Demo data is still being loaded.", kind="seeding")
    if task.cancelled() or task.exception() is not None:
        return Problem(503, "Loading the demo data failed; see the service's log.", kind="seed-failed")
    return None


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
        if problem := _seed_problem(request.app):
            raise problem
        return {"status": "ok", "service": settings.service_name, "regime": settings.regime.value}

    if settings.service_name != "identity":
        # The identity service publishes its token-signing keys at this path itself.
        @router.get(JWKS_PATH, summary="This service's public keys: signing (its client credential) and encryption")
        async def jwks(request: Request) -> dict:
            return service_jwks(request.app.state.signing_key, request.app.state.encryption_key)

    return router
