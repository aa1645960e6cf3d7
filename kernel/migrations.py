"""Versioned schemas: one Alembic history per service, applied at start and by ``citygate migrate``.

A service's history is the directory ``<package>/migrations/versions/`` (one file per revision,
numbered ``0001``, ``0002``, …), found from the package that declares its tables (the package,
in kernel/topology.py, of the SQLModel registry they are declared on); its database
records where it stands in its own version table, ``alembic_version_<service>``. Alembic's
environment (``env.py``) and the revision template are shared by every history
(``kernel/migration_environment/``): nothing else is written per service.

At start (``Database.migrate``) a service brings its database to the head of its history. A
database an older citygate created without versions (``create_all``, before migrations) is
recognised when its tables are exactly those of one revision: it is stamped at that revision and
upgraded from there; any other unversioned schema is refused, since upgrading it would be a guess.

``drift`` is the CI check (``citygate migrate --check``): a scratch SQLite database upgraded to
head must hold exactly what the models declare, by Alembic's autogenerate comparison.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, event, inspect
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from kernel import topology
from kernel.database import SQLITE_BUSY_TIMEOUT_MS, Database, UtcDateTime

if TYPE_CHECKING:
    from kernel.topology import ServiceSpec

log = logging.getLogger("citygate.migrations")

ENVIRONMENT = Path(__file__).with_name("migration_environment")
# Alembic's ``context`` and ``op`` are module-wide proxies: one command at a time per process (the
# tests start many services in one process, each upgrading its own database)
_ONE_COMMAND_AT_A_TIME = threading.RLock()
# what the connection, the models and the history are handed to env.py under (Config.attributes)
_CONNECTION, _METADATA, _HISTORY = "citygate.connection", "citygate.metadata", "citygate.history"


class SchemaError(RuntimeError):
    """A database this citygate cannot bring to the head of its history without a person deciding."""


@dataclass(frozen=True)
class History:
    """One service's migration history: its revisions and the table that records where a database stands."""

    service: str
    versions: Path

    @classmethod
    def of(cls, spec: ServiceSpec) -> History:
        found = importlib.util.find_spec(spec.package)
        if found is None or not found.submodule_search_locations:
            raise LookupError(f"{spec.package} is not a package")
        return cls(spec.name, Path(next(iter(found.submodule_search_locations))) / "migrations" / "versions")

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.service}"

    def config(self, connection: Connection | None = None, metadata: MetaData | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(ENVIRONMENT))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", str(self.versions))
        config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
        config.attributes.update({_CONNECTION: connection, _METADATA: metadata, _HISTORY: self})
        return config

    def revisions(self) -> list[str]:
        """Oldest first; the history is one line (each revision has one parent)."""
        scripts = ScriptDirectory.from_config(self.config())
        return [script.revision for script in reversed(list(scripts.walk_revisions()))]

    def head(self) -> str | None:
        return ScriptDirectory.from_config(self.config()).get_current_head()


# ---- which history a service's tables belong to ------------------------------------------------------


def _declaring_bases() -> Iterator[tuple[str, MetaData]]:
    """(module, metadata) of every SQLModel class on a registry of its own: each service declares its
    tables on one such registry (``class FinesTable(SQLModel, registry=registry())``), in its package."""
    pending = list(SQLModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.metadata is not SQLModel.metadata:
            yield model.__module__, model.metadata


def _spec_of_module(module: str) -> ServiceSpec | None:
    owners = [spec for spec in topology.SERVICES if module == spec.package or module.startswith(spec.package + ".")]
    return max(owners, key=lambda spec: len(spec.package), default=None)


def history_of(metadata: MetaData) -> History | None:
    """The history of the service whose package declares ``metadata``; None for tables declared
    anywhere else (a test's probe tables), which are created as declared."""
    for module, declared in _declaring_bases():
        if declared is metadata and (spec := _spec_of_module(module)) is not None:
            return History.of(spec)
    return None


def declared_metadata(spec: ServiceSpec) -> MetaData:
    """Every table ``spec``'s service declares: its app module imports every module that defines one."""
    importlib.import_module(f"{spec.package}.app")
    found = {id(metadata): metadata for module, metadata in _declaring_bases() if _spec_of_module(module) == spec}
    if len(found) != 1:
        raise LookupError(f"{spec.package} declares its tables on {len(found)} SQLModel registries, expected 1")
    return next(iter(found.values()))


# ---- Alembic's environment (env.py calls this) -------------------------------------------------------


def run_environment() -> None:
    """What every service's env.py would say: its connection, its models and its version table."""
    attributes = context.config.attributes
    connection: Connection = attributes[_CONNECTION]
    history: History = attributes[_HISTORY]
    context.configure(
        connection=connection,
        target_metadata=attributes[_METADATA],
        version_table=history.version_table,
        # SQLite alters most things by copying the table: revisions are written as batches, which
        # PostgreSQL runs as plain ALTERs
        render_as_batch=True,
        render_item=_render_item,
        compare_type=True,
        # on SQLite too (kernel.migrations._migration_connection makes its DDL transactional):
        # a revision that fails leaves the database as it was
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _check_foreign_keys(connection)


def _render_item(kind: str, item: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Revisions spell the kernel's UTC type as itself, imported from the kernel, and SQLModel's own
    types (AutoString, UTCDateTime) as the SQLAlchemy types they store as: a revision is DDL, and
    does not depend on SQLModel's Python-side conversions."""
    if kind != "type":
        return False
    if isinstance(item, UtcDateTime):
        if autogen.imports is not None:
            autogen.imports.add("from kernel.database import UtcDateTime")
        return "UtcDateTime()"
    if isinstance(item, TypeDecorator) and type(item).__module__.startswith("sqlmodel."):
        return f"sa.{item.impl_instance!r}"
    return False


def _check_foreign_keys(connection: Connection) -> None:
    # the batch copies of SQLite run with foreign keys off (see _migration_connection): checked before commit
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise SchemaError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")


# ---- upgrading, stamping, reading a database's revision ----------------------------------------------


@contextmanager
def _migration_connection(database: Database) -> Iterator[Connection]:
    """A connection for Alembic. SQLite: its own (so the service's pooled connections keep their
    settings), with foreign keys off while tables are copied (checked before commit) and a real
    BEGIN, so DDL is inside the transaction (pysqlite would run it in autocommit)."""
    if not database.is_sqlite or database.url.database in (None, "", ":memory:"):
        with database.engine.connect() as connection:
            yield connection
        return
    engine = _transactional_sqlite_engine(database)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _transactional_sqlite_engine(database: Database) -> Engine:
    engine = create_engine(
        database.url, poolclass=NullPool, connect_args={"isolation_level": None, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upgrade(database: Database, history: History, revision: str = "head") -> None:
    with _migration_connection(database) as connection, _named(history):
        command.upgrade(history.config(connection, database.metadata), revision)


def downgrade(database: Database, history: History, revision: str) -> None:
    """Back to ``revision`` (``base``: no tables), by each revision's ``downgrade``."""
    with _migration_connection(database) as connection, _named(history):
        command.downgrade(history.config(connection, database.metadata), revision)


def stamp(database: Database, history: History, revision: str) -> None:
    """Record ``revision`` as where the database stands, without running anything."""
    with _migration_connection(database) as connection, _named(history):
        command.stamp(history.config(connection, database.metadata), revision)


@contextmanager
def _named(history: History) -> Iterator[None]:
    """One Alembic command at a time; its refusals (a revision it does not know: a database a newer
    citygate wrote) name the service."""
    try:
        with _ONE_COMMAND_AT_A_TIME:
            yield
    except CommandError as error:
        raise SchemaError(f"{history.service}: {error} (its history: {history.versions})") from error


def current_revision(database: Database, history: History) -> str | None:
    with database.engine.connect() as connection:
        migration = MigrationContext.configure(connection, opts={"version_table": history.version_table})
        return migration.get_current_revision()


def _shape(connection: Connection, names: set[str] | None = None) -> dict[str, frozenset[str]]:
    """Tables and their column names: what tells one revision's schema from another's on any backend."""
    inspector = inspect(connection)
    return {
        table: frozenset(column["name"] for column in inspector.get_columns(table))
        for table in inspector.get_table_names()
        if names is None or table in names
    }


def shapes_of(history: History, metadata: MetaData) -> dict[str, dict[str, frozenset[str]]]:
    """Each revision's tables and columns, from a scratch SQLite database upgraded one step at a time."""
    shapes = {}
    with _scratch_database(metadata) as scratch:
        for revision in history.revisions():
            upgrade(scratch, history, revision)
            with scratch.engine.connect() as connection:
                shape = _shape(connection)
            shape.pop(history.version_table, None)
            shapes[revision] = shape
    return shapes


@contextmanager
def _scratch_database(metadata: MetaData) -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="citygate-migrations-") as directory:
        scratch = Database(f"sqlite:///{Path(directory) / 'scratch.db'}", metadata)
        try:
            yield scratch
        finally:
            scratch.dispose()


def migrate(database: Database) -> str | None:
    """Bring ``database`` to the head of its service's history; the revision it was at before (None:
    empty). Tables no service declares are created as declared (a test's probe), versions aside."""
    history = history_of(database.metadata)
    if history is None:
        database.create_tables()
        return None
    before = current_revision(database, history)
    if before is None:
        if _is_empty(database):
            _create_at_head(database, history)
            return None
        before = _adopt_unversioned(database, history)
    elif before == history.head():
        return before  # the usual restart: nothing to run, and Alembic's environment not loaded
    upgrade(database, history)
    after = current_revision(database, history)
    if before != after:
        log.info("%s: schema upgraded from %s to %s", history.service, before or "empty", after)
    return before


def _is_empty(database: Database) -> bool:
    """None of the service's tables exists yet: the usual case at start (a new deployment, a test)."""
    with database.engine.connect() as connection:
        return not set(inspect(connection).get_table_names()) & set(database.metadata.tables)


def _create_at_head(database: Database, history: History) -> None:
    """An empty database is created as the models declare and recorded at head, in one transaction
    (Alembic's recipe for a database built from scratch): the same schema as replaying every revision,
    which ``drift`` (``citygate migrate --check``, in CI) holds, without replaying data steps that have
    no rows to act on. On SQLite one transaction is also one sync instead of one per table."""
    with _migration_connection(database) as connection, _named(history):
        with connection.begin():
            database.metadata.create_all(connection)
            command.stamp(history.config(connection, database.metadata), "head")


def _adopt_unversioned(database: Database, history: History) -> str | None:
    """A database without a version table, written by a citygate from before migrations: stamped at
    the revision whose tables it has exactly."""
    shapes = shapes_of(history, database.metadata)
    with database.engine.connect() as connection:
        found = _shape(connection, set().union(*shapes.values()))
    for revision in reversed(list(shapes)):
        if shapes[revision] == found:
            log.warning(
                "%s: no version table, but exactly the tables of revision %s (an older citygate built it): "
                "recorded as at %s",
                history.service,
                revision,
                revision,
            )
            stamp(database, history, revision)
            return revision
    raise SchemaError(
        f"{history.service}: the database {database.url.render_as_string(hide_password=True)} has tables of "
        f"this service ({', '.join(sorted(found))}) but no version table ({history.version_table}), and they "
        f"match no revision of its history ({history.versions}). Upgrading it would be a guess: back it up and "
        f"bring it to a revision by hand, then record that with `citygate migrate --service {history.service} "
        f"--stamp REVISION`; or start it empty."
    )


# ---- drift and new revisions -------------------------------------------------------------------------


def drift(metadata: MetaData, history: History) -> list[Any]:
    """Where the models and the history disagree (Alembic's autogenerate comparison of ``metadata``
    with a scratch SQLite database upgraded to head); empty when they agree."""
    with _scratch_database(metadata) as scratch:
        upgrade(scratch, history)
        with scratch.engine.connect() as connection:
            migration = MigrationContext.configure(
                connection,
                opts={"version_table": history.version_table, "compare_type": True, "render_item": _render_item},
            )
            return list(compare_metadata(migration, metadata))


def new_revision(metadata: MetaData, history: History, message: str) -> Path:
    """Write the next revision, autogenerated from the models against a scratch database at head:
    read it and complete it (data steps, what autogenerate cannot see) before committing it."""
    revisions = history.revisions()
    next_id = f"{int(revisions[-1]) + 1 if revisions else 1:04d}"
    history.versions.mkdir(parents=True, exist_ok=True)
    with _scratch_database(metadata) as scratch:
        upgrade(scratch, history)
        with scratch.engine.connect() as connection, _named(history):
            script = command.revision(
                history.config(connection, metadata), message=message, autogenerate=True, rev_id=next_id
            )
    assert script is not None and not isinstance(script, list)
    return Path(script.path)
