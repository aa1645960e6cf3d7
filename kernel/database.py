"""One engine per service, on the service's own metadata and URL.

SQLite is the embedded default (WAL so readers do not block the writer, foreign keys on,
a busy timeout so concurrent writers wait instead of failing); PostgreSQL is reached with
``postgresql+psycopg://``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.pool import SingletonThreadPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from kernel.at_rest import PRIVATE_DIRECTORY_MODE, private_file

SQLITE_BUSY_TIMEOUT_MS = 5000
# A service process's connections: (kept open, more under load). PostgreSQL's are SQLAlchemy's defaults:
# each is a server process, and a server's default max_connections (100) is shared by every service
# and replica. A SQLite connection is a file handle and some memory, but opening one (its pragmas) is
# costly: under load the default pool opened and closed overflow connections on every burst (seen in
# a profile of the gateway), so it keeps all of them open.
POSTGRESQL_POOL = (5, 10)
SQLITE_POOL = (20, 0)
# SQLite writes one transaction at a time whatever the pool: a few connections for the records
# committed without waiting for the disk
UNHURRIED_SQLITE_POOL = (2, 2)
SQLITE_COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as UTC and read back as an aware UTC datetime, on SQLite (which keeps only the wall
    clock) exactly as on PostgreSQL. Naive datetimes are refused rather than guessed at."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    def __init__(self, url: str, metadata: MetaData) -> None:
        self.url = make_url(url)
        self.metadata = metadata
        self.engine = self._create_engine()
        # SQLite: connections of their own for committed_without_waiting_for_the_disk (a connection's
        # durability is a pragma, which cannot change inside a transaction)
        self._unhurried = (
            self._create_engine(synchronous="NORMAL", sqlite_pool=UNHURRIED_SQLITE_POOL)
            if self._is_sqlite_file
            else None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def _is_sqlite_file(self) -> bool:
        return self.is_sqlite and bool(self.url.database) and self.url.database != ":memory:"

    def _create_engine(self, *, synchronous: str = "FULL", sqlite_pool: tuple[int, int] = SQLITE_POOL) -> Engine:
        # hide_parameters: a database error's text (logged with its traceback) shows the SQL
        # but not the values bound to it, which are resident ids, names, tokens
        if not self.is_sqlite:
            size, overflow = POSTGRESQL_POOL
            return create_engine(
                self.url, pool_pre_ping=True, hide_parameters=True, pool_size=size, max_overflow=overflow
            )
        pool: dict[str, Any] = {}
        if self._is_sqlite_file:
            _create_private_sqlite_file(Path(str(self.url.database)))
            pool = {"pool_size": sqlite_pool[0], "max_overflow": sqlite_pool[1]}
        engine = create_engine(self.url, connect_args={"check_same_thread": False}, hide_parameters=True, **pool)
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, synchronous=synchronous))
        return engine

    @property
    def connections(self) -> int | None:
        """How many connections the pool opens at most; None for an in-memory SQLite database (one
        connection per thread, never waited for)."""
        if isinstance(self.engine.pool, SingletonThreadPool):
            return None
        return sum(SQLITE_POOL if self.is_sqlite else POSTGRESQL_POOL)

    @contextmanager
    def committed_without_waiting_for_the_disk(self) -> Iterator[Connection]:
        """A transaction of its own, on a connection of its own, committed without waiting for the
        disk: for a record whose last moments a power cut may lose without harm (what the platform saw
        of a journey), never for money, consent or anything another party relies on. A crash of the
        service loses nothing: only one of the operating system or the machine can. What it saves is
        the fsync of every commit (the gateway's history row on every read was a quarter of its CPU).

        PostgreSQL: ``SET LOCAL synchronous_commit TO OFF``, for this transaction only. SQLite (WAL):
        a connection opened with ``PRAGMA synchronous = NORMAL``, from a small pool of its own (every
        other connection waits for the disk on every commit)."""
        if self._unhurried is not None:
            with self._unhurried.begin() as connection:
                yield connection
            return
        with self.engine.begin() as connection:
            if not self.is_sqlite:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield connection

    def create_tables(self) -> None:
        """The tables as declared, without versions: for scratch and test databases."""
        self.metadata.create_all(self.engine)

    def migrate(self) -> None:
        """Bring the schema to the head of its service's history (kernel/migrations.py); tables
        that no service declares (a test's probe) are created as declared."""
        from kernel.migrations import migrate

        migrate(self)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._unhurried is not None:
            self._unhurried.dispose()


def _create_private_sqlite_file(path: Path) -> None:
    """The database file exists, 0600, before SQLite opens it: SQLite creates its ``-wal``,
    ``-shm`` and ``-journal`` files with the database file's mode, so they are private too.
    Those an older version left readable are tightened here (SQLite keeps a non-empty file's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY_MODE)
    os.close(private_file(path))
    for suffix in SQLITE_COMPANION_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.close(private_file(companion))


def _sqlite_pragmas(dbapi_connection: Any, _record: object, *, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL (the default, named): every commit waits for the disk; NORMAL only on the connections of
    # Database.committed_without_waiting_for_the_disk
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
