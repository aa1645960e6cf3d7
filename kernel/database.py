"""One engine per service, on the service's own metadata and URL.

SQLite is the embedded default (WAL so readers do not block the writer, foreign keys on,
a busy timeout so concurrent writers wait instead of failing); PostgreSQL is reached with
``postgresql+psycopg://``.
"""

from __future__ import annotations

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

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def _create_engine(self) -> Engine:
        # hide_parameters: a database error's text (logged with its traceback) shows the SQL
        # but not the values bound to it, which are resident ids, names, tokens
        if not self.is_sqlite:
            size, overflow = POSTGRESQL_POOL
            return create_engine(
                self.url, pool_pre_ping=True, hide_parameters=True, pool_size=size, max_overflow=overflow
            )
        pool: dict[str, Any] = {}
        if self.url.database and self.url.database != ":memory:":
            _create_private_sqlite_file(Path(self.url.database))
            pool = {"pool_size": SQLITE_POOL[0], "max_overflow": SQLITE_POOL[1]}
        engine = create_engine(self.url, connect_args={"check_same_thread": False}, hide_parameters=True, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    @property
    def connections(self) -> int | None:
        """How many connections the pool opens at most; None for an in-memory SQLite database (one
        connection per thread, never waited for)."""
        if isinstance(self.engine.pool, SingletonThreadPool):
            return None
        return sum(SQLITE_POOL if self.is_sqlite else POSTGRESQL_POOL)

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


@contextmanager
def committed_without_waiting_for_the_disk(engine: Engine) -> Iterator[Connection]:
    """A transaction of its own, on a connection of its own, committed without waiting for the disk:
    for a record whose last moments a power cut may lose without harm (what the platform saw of a
    journey), never for money, consent or anything another party relies on. A crash of the service
    loses nothing: only the operating system's or the machine's. What it saves is the fsync of every
    commit (the gateway's history row on every read was a quarter of its CPU under load).

    PostgreSQL: ``SET LOCAL synchronous_commit TO OFF``, for this transaction only. SQLite (WAL):
    ``PRAGMA synchronous = NORMAL`` for this transaction, the connection's ``FULL`` put back after
    (the pragma cannot change inside a transaction)."""
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with connection.begin():
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield connection
            return
        _pragma(connection, "synchronous = NORMAL")
        try:
            with connection.begin():
                yield connection
        finally:
            _pragma(connection, "synchronous = FULL")


def _pragma(connection: Connection, pragma: str) -> None:
    """Outside any transaction: SQLAlchemy's own (begun by the statement) ends at once; SQLite's
    driver opens none for a pragma."""
    connection.exec_driver_sql(f"PRAGMA {pragma}")
    connection.commit()


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


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # every commit waits for the disk (the default, named): committed_without_waiting_for_the_disk relaxes one
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
