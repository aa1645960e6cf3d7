"""Many concurrent requests on one service never wait out the database pool's timeout.

A route's session holds a pooled connection from its first statement until it is closed after the
response. If closing it needed a worker thread from the same pool of threads that the routes waiting
for a connection hold, a burst of requests larger than the threads and the connections together
would stall: the waiting routes hold every thread, the finished ones hold every connection and
cannot give it back (seen as 30-second 503s "no database connection became free in time", in a test
of concurrent bookings on PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import MetaData, text
from sqlalchemy.pool import QueuePool

from kernel.database import Database
from kernel.dependencies import SessionDep, read_and_release
from kernel.service_app import build_service_app
from services.fines.settings import Settings as FinesSettings
from tests.fixtures.databases import postgres_databases
from tests.fixtures.matrix import BOTH_BACKENDS

pytestmark = BOTH_BACKENDS

# more than the thread pool's 40 workers and the connection pool's 15 (PostgreSQL) or 20 (SQLite) together
CONCURRENT_READS = 120


def _reading_router() -> APIRouter:
    router = APIRouter()

    @router.get("/read")
    def read(session: SessionDep) -> dict[str, int]:
        # the session keeps its connection after this returns, until the dependency closes it
        return {"one": session.execute(text("SELECT 1")).scalar_one()}

    return router


async def test_a_burst_of_reads_larger_than_both_pools_is_answered_without_stalling(
    backend: str, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_databases("fines"))["fines"] if backend == "postgresql" else None
        settings = FinesSettings(data_dir=tmp_path / "fines", database_url=url)
        app = build_service_app(settings, title="probe", metadata=MetaData(), routers=[_reading_router()])
        async with app.router.lifespan_context(app):
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe")
            async with client, asyncio.timeout(20):  # well under the pool's 30-second timeout
                answers = await asyncio.gather(*(client.get("/read") for _ in range(CONCURRENT_READS)))
    assert [answer.status_code for answer in answers] == [200] * CONCURRENT_READS


def checked_out(database: Database) -> int:
    pool = database.engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


async def test_a_read_gives_its_connection_back_before_the_answer_is_sent(backend: str, tmp_path: Path) -> None:
    """``read_and_release``: the read's transaction ends on its own thread, failing or not, so the
    session holds no connection once the route has its answer."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_databases("fines"))["fines"] if backend == "postgresql" else None
        database = Database(url or f"sqlite:///{tmp_path / 'probe.db'}", MetaData())
        stack.callback(database.dispose)
        with database.session() as session:
            one = await read_and_release(session, lambda: session.execute(text("SELECT 1")).scalar_one())
            assert (one, session.in_transaction(), checked_out(database)) == (1, False, 0)

            def read_then_fail() -> None:
                session.execute(text("SELECT 1"))
                raise LookupError("what the route looked for is not there")

            with pytest.raises(LookupError):
                await read_and_release(session, read_then_fail)
            assert (session.in_transaction(), checked_out(database)) == (False, 0)
