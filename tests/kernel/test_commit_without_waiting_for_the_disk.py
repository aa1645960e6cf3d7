"""``Database.committed_without_waiting_for_the_disk``: the one transaction is committed (or, failing,
rolled back whole), and every other connection of the service still waits for the disk on every commit
(PostgreSQL's setting is the transaction's only; SQLite's relaxed connections are a pool of their own)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from kernel.database import Database
from tests.fixtures.databases import backend_database
from tests.fixtures.matrix import BOTH_BACKENDS

pytestmark = BOTH_BACKENDS

metadata = MetaData()
seen = Table("seen", metadata, Column("id", Integer, primary_key=True))


def durability(connection) -> str:
    if connection.dialect.name == "sqlite":
        return {0: "off", 1: "normal", 2: "full", 3: "extra"}[connection.exec_driver_sql("PRAGMA synchronous").scalar()]
    return str(connection.exec_driver_sql("SHOW synchronous_commit").scalar())


def test_the_transaction_commits_and_the_connection_comes_back_durable(backend: str, tmp_path: Path) -> None:
    with backend_database(backend, tmp_path, "probe", metadata) as database:
        with database.engine.connect() as connection:
            usual = durability(connection)
        assert usual in ("full", "on")
        with database.committed_without_waiting_for_the_disk() as connection:
            inside = durability(connection)
            connection.execute(insert(seen).values(id=1))
        assert inside in ("normal", "off")
        with database.engine.connect() as connection:  # the pool's connection, as the next user gets it
            assert durability(connection) == usual
            assert connection.execute(select(seen.c.id)).scalars().all() == [1]


def record_then_fail(database: Database) -> None:
    with database.committed_without_waiting_for_the_disk() as connection:
        connection.execute(insert(seen).values(id=2))
        raise RuntimeError("the record could not be made")


def test_a_failure_inside_writes_nothing_and_restores_the_connection(backend: str, tmp_path: Path) -> None:
    with backend_database(backend, tmp_path, "probe", metadata) as database:
        with pytest.raises(RuntimeError):
            record_then_fail(database)
        with database.engine.connect() as connection:
            assert durability(connection) in ("full", "on")
            assert connection.execute(text("SELECT count(*) FROM seen")).scalar() == 0
