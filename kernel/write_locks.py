"""One writer at a time for a set of keys: a transaction that reads, decides and writes (is this
resident enrolled? is this plate registered to someone else? was this reference issued?) cannot
interleave with another doing the same and both decide "not yet".

``lock_for_writing(session, *keys)`` must be the session's first statement, so that everything the
transaction reads afterwards is what the previous holder committed. The lock ends with the
transaction (commit or rollback).

- SQLite: ``BEGIN IMMEDIATE`` takes the database's one write lock now rather than at the first write
  (the keys are moot: SQLite has one writer anyway). Taking it late is what goes wrong otherwise: a
  transaction that has read cannot become a writer once another has committed (``SQLITE_BUSY``).
- PostgreSQL: a transaction-level advisory lock per key, taken in sorted order so that two writers
  sharing keys never wait for each other crosswise; rows nobody has written yet are covered too
  (``SELECT ... FOR UPDATE`` locks only rows that exist).

Either waits at most ``wait_ms``, then raises ``ServiceBusy`` (503, ``Retry-After``): never a 500,
never a request hanging on a lock.

A transaction that calls other services while it holds the lock (the hospital depositing into a pod)
first queues in its own process on ``LocalQueue``, on the event loop: waiting there holds no thread, so
a burst cannot fill the thread pool with writers waiting on the database while the one holding the lock
waits for a thread to hear the other services' answers (in one process every service shares the pool).
"""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from kernel.database import SQLITE_BUSY_TIMEOUT_MS
from kernel.problems import ServiceBusy


def advisory_key(key: str) -> int:
    """A PostgreSQL advisory lock's 64-bit key for ``key``: the same in every process, unlike ``hash()``."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big", signed=True)


def lock_for_writing(session: Session, *keys: str, wait_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Make this transaction the only writer under ``keys`` until it ends (see the module)."""
    if not keys:
        raise ValueError("name at least one key to lock")
    try:
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            finally:  # the pooled connection keeps the engine's own timeout for everything else
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        else:
            connection.execute(text(f"SET LOCAL lock_timeout = {int(wait_ms)}"))
            for key in sorted(set(keys)):
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(key)})
    except OperationalError as error:  # SQLite "database is locked", PostgreSQL LockNotAvailable
        session.rollback()
        raise ServiceBusy(
            "Another request is writing the same record; nothing was changed. Try again shortly.",
            headers={"Retry-After": "1"},
        ) from error


class LocalQueue:
    """In-process queues in front of ``lock_for_writing``: ``async with queue.turn(key): ...`` (see the
    module). Keys share a fixed number of queues (stripes), so the queues never grow with the keys; two
    keys on one stripe wait for each other in this process, which costs time, never correctness."""

    def __init__(self, stripes: int = 16) -> None:
        if stripes < 1:
            raise ValueError("a queue needs at least one stripe")
        self._stripes = [asyncio.Lock() for _ in range(stripes)]

    def turn(self, key: str) -> asyncio.Lock:
        return self._stripes[advisory_key(key) % len(self._stripes)]
