"""Helpers shared by the tests: PostgreSQL test databases, free ports, process trees, JSON bodies."""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

POSTGRES_ADMIN_DSN = os.environ.get("CITYGATE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_DSN, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def require_postgres() -> None:
    """Skip without PostgreSQL on a developer machine; in CI its absence is a failure."""
    if postgres_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must exercise PostgreSQL, but {POSTGRES_ADMIN_DSN} does not answer")
    pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN_DSN} does not answer")


def postgres_url(database: str) -> str:
    admin = psycopg.conninfo.conninfo_to_dict(POSTGRES_ADMIN_DSN)
    host, port, user = admin.get("host", "127.0.0.1"), admin.get("port", "5432"), admin.get("user", "postgres")
    return f"postgresql+psycopg://{user}@{host}:{port}/{database}"


def create_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _DatabasePool:
    """Databases that look fresh without paying for CREATE DATABASE (~0.3 s each here) per test:
    each is created once per run and, when handed out again, emptied (its connections ended, its
    schema dropped and recreated), which takes a few milliseconds. Dropped when the run ends."""

    def __init__(self) -> None:
        self.run = secrets.token_hex(4)
        self.free: list[str] = []
        self.created: list[str] = []

    def take(self) -> str:
        if self.free:
            name = self.free.pop()
            self._empty(name)
            return name
        name = f"cg_{self.run}_{len(self.created)}"
        create_postgres_database(name)
        if not self.created:
            atexit.register(self.drop_all)
        self.created.append(name)
        return name

    def give_back(self, names: list[str]) -> None:
        self.free.extend(names)

    def _empty(self, name: str) -> None:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        with psycopg.connect(postgres_url(name).replace("+psycopg", ""), autocommit=True) as database:
            database.execute("DROP SCHEMA public CASCADE")
            database.execute("CREATE SCHEMA public")

    def drop_all(self) -> None:
        for name in self.created:
            with contextlib.suppress(psycopg.Error):
                drop_postgres_database(name)


_pool = _DatabasePool()


@contextmanager
def postgres_databases(*services: str) -> Iterator[dict[str, str]]:
    """An empty database per service, as if freshly created (they come from a per-run pool)."""
    names: list[str] = []
    try:
        for _ in services:
            names.append(_pool.take())
        yield {service: postgres_url(name) for service, name in zip(services, names, strict=True)}
    finally:
        _pool.give_back(names)


@contextmanager
def sqlite_session(directory: Path, metadata) -> Iterator:
    """A session on a fresh SQLite file holding one service's tables (domain tests without HTTP)."""
    from kernel.database import Database

    database = Database(f"sqlite:///{directory / 'domain.db'}", metadata)
    database.create_tables()
    try:
        with database.session() as session:
            yield session
    finally:
        database.dispose()


@contextmanager
def backend_database(backend: str, directory: Path, service: str, metadata) -> Iterator:
    """One service's tables on a fresh database of ``backend`` (domain tests without HTTP, on both)."""
    from kernel.database import Database

    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{directory / f'{service}.db'}"
        else:
            url = stack.enter_context(postgres_databases(service))[service]
        database = Database(url, metadata)
        database.create_tables()
        try:
            yield database
        finally:
            database.dispose()


def _ephemeral_port_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port_block(size: int, start: int = 20000) -> int:
    """The first port of ``size`` consecutive free loopback ports, below the kernel's ephemeral range.

    Below it because a port free now but inside that range can be taken, before a service binds it, as
    the source port of any outgoing connection (the services call each other while others start):
    seen in CI as a service exiting with uvicorn's startup-failure code 3."""
    stop = _ephemeral_port_range()[0]
    if stop - start < size + 100:
        start, stop = 1024, stop
    for _ in range(200):
        base = secrets.randbelow((stop - start - size) // 100) * 100 + start
        if all(_port_is_free(base + offset) for offset in range(size)):
            return base
    raise RuntimeError("no free block of loopback ports")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, frontier = set(), [pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_all_exit(pids: set[int], timeout: float) -> None:
    """Every process in ``pids`` is gone within ``timeout`` seconds (no orphans)."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    survivors = sorted(pid for pid in pids if alive(pid))
    assert not survivors, f"processes outlived their launcher: {survivors}"


def assert_problem(response: httpx.Response, status: int, kind: str | None = None) -> dict:
    """The response is RFC 9457 problem+json with ``status`` (and our problem type ``kind``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    if kind is not None:
        assert body["type"] == f"urn:citygate:problem:{kind}", body
    return body


def assert_private_tree(root: Path) -> list[Path]:
    """``root`` and every directory under it are 0700, every file 0600 (secrets at rest);
    returns the files."""

    def mode_of(path: Path) -> int:
        return stat.S_IMODE(os.lstat(path).st_mode)

    assert mode_of(root) == 0o700, (root, oct(mode_of(root)))
    files = []
    for directory, subdirectories, names in os.walk(root):
        for name in subdirectories:
            path = Path(directory) / name
            assert mode_of(path) == 0o700, (path, oct(mode_of(path)))
        for name in names:
            path = Path(directory) / name
            assert mode_of(path) == 0o600, (path, oct(mode_of(path)))
            files.append(path)
    return files
