"""The databases a mesh starts on are as the service would leave an empty one at its first start,
however the previous test left them (tests/fixtures/databases.py): reused PostgreSQL databases, and
the SQLite template a new file is copied from (never over an existing one)."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from sqlalchemy import text

from kernel import topology
from kernel.database import Database
from kernel.migrations import History, current_revision, declared_metadata
from services.fines.models import Fine
from tests.fixtures.databases import migrated_postgres_databases, require_postgres, start_sqlite_at_head


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True)


def _at_head(url: str, service: str) -> bool:
    spec = topology.service(service)
    database = Database(url, declared_metadata(spec))
    try:
        return current_revision(database, History.of(spec)) == History.of(spec).head()
    finally:
        database.dispose()


def _fines_rows_and_next_id(url: str) -> tuple[int, int]:
    with _connect(url) as connection:
        row = connection.execute("SELECT (SELECT count(*) FROM fine), nextval('fine_id_seq')").fetchone()
    assert row is not None
    return row[0], row[1]


def test_a_reused_database_comes_back_without_rows_and_with_its_sequences_restarted() -> None:
    require_postgres()
    with migrated_postgres_databases("fines") as urls:
        assert _at_head(urls["fines"], "fines")
        database = Database(urls["fines"], declared_metadata(topology.service("fines")))
        try:
            with database.session() as session:
                session.execute(text("SET session_replication_role = replica"))  # no vehicle needed
                session.add(
                    Fine(
                        plate="粤A00000",
                        offence="a test's leftover",
                        place="here",
                        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                        amount_cents=100,
                        due_date=date(2026, 2, 1),
                    )
                )
                session.commit()
        finally:
            database.dispose()
        with _connect(urls["fines"]) as connection:
            connection.execute("SELECT setval('fine_id_seq', 500)")
            assert _fines_rows_and_next_id(urls["fines"])[0] == 1
    with migrated_postgres_databases("fines") as urls:
        assert _fines_rows_and_next_id(urls["fines"]) == (0, 1)
        assert _at_head(urls["fines"], "fines")


def test_a_database_whose_schema_a_test_changed_is_rebuilt_not_reused() -> None:
    require_postgres()
    with migrated_postgres_databases("pod") as urls:
        with _connect(urls["pod"]) as connection:
            connection.execute("ALTER TABLE pod ADD COLUMN smuggled text")
            connection.execute("CREATE INDEX smuggled_index ON pod (smuggled)")
    with migrated_postgres_databases("pod") as urls, _connect(urls["pod"]) as connection:
        columns = [
            row[0]
            for row in connection.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'pod'")
        ]
        assert "smuggled" not in columns
        assert _at_head(urls["pod"], "pod")


def test_a_sqlite_database_starts_at_head_private_and_an_existing_one_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "data" / "pod.db"
    start_sqlite_at_head("pod", f"sqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert _at_head(f"sqlite:///{path}", "pod")
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO pod (id, created_at) VALUES ('kept', '2026-01-01')")
    connection.close()
    start_sqlite_at_head("pod", f"sqlite:///{path}")  # a restart: the data stays
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT id FROM pod").fetchall() == [("kept",)]
    connection.close()
