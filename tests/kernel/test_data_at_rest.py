"""Secrets at rest: a service's data directory is 0700 and every file in it 0600 — the SQLite
database and the ``-wal``/``-shm`` files SQLite creates later too — whatever the umask, and a data
directory left readable by an older version is tightened when the service starts."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text

from kernel.at_rest import SharedDirectory
from kernel.keys import ENCRYPTION_KEY_FILE, KEY_FILE
from kernel.regime import Regime
from kernel.service_app import build_service_app
from services.fines.settings import Settings as FinesSettings
from tests.fixtures.files import assert_private_tree
from workshop.launcher import Launcher

PRIVATE_FILE_MODE = 0o600
metadata = MetaData()
secrets_table = Table("secrets", metadata, Column("id", Integer, primary_key=True), Column("seed", String(64)))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@contextmanager
def permissive_umask() -> Iterator[None]:
    """The umask most shells start with: without a defence, new files come out 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_a_service_keeps_its_database_wal_shm_and_keys_private_whatever_the_umask(tmp_path):
    data_dir = tmp_path / "var" / "rights" / "probe"
    with permissive_umask():
        app = build_service_app(FinesSettings(data_dir=data_dir), title="probe", metadata=metadata)
        async with app.router.lifespan_context(app):
            database = app.state.service.database
            with database.engine.connect() as reader:
                # an open reader keeps the WAL from being checkpointed away, as in a running service
                assert reader.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                with database.engine.begin() as writer:
                    writer.execute(insert(secrets_table).values(seed="JBSWY3DPEHPK3PXP"))
                names = {path.name for path in assert_private_tree(data_dir)}
    assert {"fines.db", "fines.db-wal", "fines.db-shm", KEY_FILE, ENCRYPTION_KEY_FILE} <= names


async def test_a_data_directory_left_readable_by_an_older_version_is_tightened_at_start(tmp_path):
    data_dir = tmp_path / "probe"
    with permissive_umask():
        first = build_service_app(FinesSettings(data_dir=data_dir), title="probe", metadata=metadata)
        async with first.router.lifespan_context(first):
            with first.state.service.database.engine.begin() as writer:
                writer.execute(insert(secrets_table).values(seed="JBSWY3DPEHPK3PXP"))
        # what an older version (or a careless copy) left behind
        leftovers = [data_dir / "fines.db-journal", data_dir / "keys" / "retired" / "old.pem"]
        for leftover in leftovers:
            leftover.parent.mkdir(exist_ok=True)
            leftover.write_text("{}")
        for path in [data_dir, *data_dir.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

        build_service_app(FinesSettings(data_dir=data_dir), title="probe", metadata=metadata)
    names = {path.name for path in assert_private_tree(data_dir)}
    assert {"fines.db", "fines.db-journal", "old.pem", KEY_FILE} <= names


def test_a_database_elsewhere_is_created_private_without_touching_its_directory(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    url = f"sqlite:///{shared / 'elsewhere.db'}"
    with permissive_umask():
        app = build_service_app(
            FinesSettings(data_dir=tmp_path / "probe", database_url=url), title="probe", metadata=metadata
        )
        app.state.service.database.create_tables()
    assert mode_of(shared / "elsewhere.db") == PRIVATE_FILE_MODE
    assert mode_of(shared) == 0o755  # not ours to change: only the service's own data directory is


def test_a_world_writable_directory_named_as_data_directory_is_refused_and_left_alone(tmp_path):
    """Pointing DATA_DIR (or ``citygate up --data-dir``) at /tmp must not chmod /tmp and its
    other users' files to 0700/0600: the service refuses to start instead."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    scratch.chmod(0o1777)
    (scratch / "someone-elses.txt").write_text("")
    (scratch / "someone-elses.txt").chmod(0o644)
    with pytest.raises(SharedDirectory, match="writable by every user"):
        build_service_app(FinesSettings(data_dir=scratch), title="probe", metadata=metadata)
    with pytest.raises(SharedDirectory):
        Launcher([Regime.RIGHTS], data_root=scratch).start()
    assert mode_of(scratch) == 0o1777 and mode_of(scratch / "someone-elses.txt") == 0o644
    assert not any(scratch.glob("*.log")) and sorted(p.name for p in scratch.iterdir()) == ["someone-elses.txt"]
