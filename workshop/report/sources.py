"""Where each party's database is: found from the same settings the services use, and opened read only.

A deployment started by ``citygate up --data-dir ROOT`` keeps each service's data under
``ROOT/<regime>/<service>/`` (``workshop.launcher``); each service's settings class turns that data
directory into its database URL, and an environment variable ``CITYGATE_<SERVICE>_DATABASE_URL``
(how ``citygate serve`` and the compose file point a service at PostgreSQL) wins over it, exactly as
in the service itself. The report never creates a database, a file or a row: SQLite files are opened
in SQLite's read-only mode, PostgreSQL sessions with read-only transactions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from kernel import topology
from kernel.regime import Regime
from workshop.report.stored import ServiceDump, read_database


class MissingData(Exception):
    """What the report needs and cannot find: each line one missing thing."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("; ".join(missing))
        self.missing = missing


def database_urls(data_root: Path, regime: Regime) -> dict[str, str]:
    """Each service of ``regime``: the database URL its own settings give it under ``data_root``."""
    urls: dict[str, str] = {}
    for spec in topology.services_in(regime):
        settings = spec.settings_class()(regime=regime, data_dir=data_root / regime.value / spec.name)
        assert settings.database_url is not None  # ServiceSettings fills it in
        urls[spec.name] = settings.database_url
    return urls


def read_only_engine(url: str) -> Engine:
    """An engine that can only read ``url``; MissingData when a SQLite file is not there."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).is_file():
            raise MissingData([f"no database file {database} (has the service run with this data directory?)"])
        # SQLite's own read-only mode: a file it cannot write, not even its journal
        return create_engine(f"sqlite:///file:{Path(database).resolve()}?mode=ro&uri=true")
    return create_engine(parsed, connect_args={"options": "-c default_transaction_read_only=on"})


def read_services(urls: Mapping[str, str]) -> dict[str, ServiceDump]:
    """Every service's rows; MissingData naming each database that is missing or does not answer."""
    missing: list[str] = []
    dumps: dict[str, ServiceDump] = {}
    for service, url in sorted(urls.items()):
        try:
            engine = read_only_engine(url)
        except MissingData as error:
            missing.extend(f"{service}: {line}" for line in error.missing)
            continue
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            dumps[service] = read_database(service, engine)
        except SQLAlchemyError as error:
            shown = make_url(url).render_as_string(hide_password=True)
            missing.append(f"{service}: cannot read {shown}: {type(error).__name__}: {str(error).splitlines()[0]}")
        finally:
            engine.dispose()
    if missing:
        raise MissingData(missing)
    return dumps


def read_engines(engines: Mapping[str, Engine]) -> dict[str, ServiceDump]:
    """Every service's rows from engines already open (the tests' in-process services)."""
    return {service: read_database(service, engine) for service, engine in sorted(engines.items())}
