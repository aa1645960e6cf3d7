"""kernel/write_locks.py: a read-decide-write transaction under ``lock_for_writing`` is never interleaved
with another under the same key, on SQLite and PostgreSQL; a writer that waits too long is a 503."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, func, select

from kernel.problems import ServiceBusy
from kernel.write_locks import LocalQueue, advisory_key, lock_for_writing
from tests.fixtures.databases import backend_database
from tests.fixtures.matrix import BOTH_BACKENDS

pytestmark = [BOTH_BACKENDS]


class ProbeTable(SQLModel, registry=registry()):
    pass


class Claim(ProbeTable, table=True):
    """Deliberately without a unique constraint: only the lock keeps a name to one row."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)


@pytest.fixture
def database(backend: str, tmp_path: Path):
    with backend_database(backend, tmp_path, "write-locks-probe", ProbeTable.metadata) as database:
        yield database


def claim_once(database, name: str, *, locked: bool) -> bool:
    """Read whether ``name`` is claimed, pause (as a slow decision would), then claim it if not."""
    with database.session() as session:
        if locked:
            lock_for_writing(session, f"claim:{name}")
        claimed = session.exec(select(Claim).where(Claim.name == name)).first() is not None
        time.sleep(0.01)
        if claimed:
            session.rollback()
            return False
        session.add(Claim(name=name))
        session.commit()
        return True


def claims(database, name: str) -> int:
    with database.session() as session:
        return session.exec(select(func.count()).select_from(Claim).where(Claim.name == name)).one()


def test_twenty_concurrent_read_decide_writes_make_one_row(database):
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(lambda _: claim_once(database, "the-one", locked=True), range(20)))
    assert sorted(outcomes) == [False] * 19 + [True]
    assert claims(database, "the-one") == 1


def test_without_the_lock_the_same_race_makes_duplicates_or_fails(database, backend):
    """The control: what the lock prevents does happen without it (so the test above tests the lock)."""
    barrier = threading.Barrier(5)

    def unlocked(_: int) -> str:
        barrier.wait()
        try:
            return "claimed" if claim_once(database, "raced", locked=False) else "found"
        except Exception as error:  # SQLite: a reader cannot become a writer after another committed
            return type(error).__name__

    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(unlocked, range(5)))
    assert claims(database, "raced") > 1 or any(outcome not in ("claimed", "found") for outcome in outcomes), outcomes


def test_a_writer_that_waits_longer_than_it_may_is_told_the_service_is_busy(database):
    with database.session() as holder:
        lock_for_writing(holder, "claim:held")
        with database.session() as waiter:
            started = time.monotonic()
            with pytest.raises(ServiceBusy) as busy:
                lock_for_writing(waiter, "claim:held", wait_ms=200)
            assert time.monotonic() - started < 2
            assert busy.value.status == 503 and busy.value.headers == {"Retry-After": "1"}
        holder.rollback()
    # released with the holder's transaction: the next writer gets it at once
    assert claim_once(database, "held", locked=True)


@pytest.mark.backends("postgresql")
def test_on_postgresql_writers_under_other_keys_do_not_wait_for_each_other(database):
    with database.session() as holder:
        lock_for_writing(holder, "claim:a")
        started = time.monotonic()
        assert claim_once(database, "b", locked=True)
        assert time.monotonic() - started < 1
        holder.rollback()


def test_a_lock_names_at_least_one_key(database):
    with database.session() as session, pytest.raises(ValueError, match="at least one key"):
        lock_for_writing(session)


def test_advisory_keys_are_stable_signed_64_bit_integers():
    assert advisory_key("claim:a") == advisory_key("claim:a") != advisory_key("claim:b")
    assert -(2**63) <= advisory_key("claim:a") < 2**63


# --- the in-process queue in front of the lock -----------------------------------------------------


async def test_a_local_queue_lets_one_writer_per_key_through_at_a_time():
    queue = LocalQueue(stripes=4)
    inside, most = 0, 0

    async def writer() -> None:
        nonlocal inside, most
        async with queue.turn("prescriptions.reference:his-1"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(writer() for _ in range(20)))
    assert (most, inside) == (1, 0)


def test_a_local_queue_has_a_fixed_number_of_stripes():
    queue = LocalQueue(stripes=4)
    assert queue.turn("a") is queue.turn("a")
    assert len({id(queue.turn(f"key-{n}")) for n in range(200)}) == 4
    with pytest.raises(ValueError, match="at least one stripe"):
        LocalQueue(stripes=0)
