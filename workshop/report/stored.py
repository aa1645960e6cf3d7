"""Every row of one service's database, read as the auditor (or a thief with a copy) reads it:
every table the database has (reflected, not the models: a table nobody declared shows up too),
every column, in primary-key order; with the foreign keys the database itself declares, by which
a party joins its own rows into records (``workshop.report.records``). Read only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

# Alembic's bookkeeping: a schema version, about nobody.
SKIPPED_PREFIX = "alembic_version"


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str
    referred: tuple[str, ...]


@dataclass(frozen=True)
class TableDump:
    name: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class ServiceDump:
    """What one service's database holds: its tables by name."""

    service: str
    tables: dict[str, TableDump]

    @property
    def row_count(self) -> int:
        return sum(len(table.rows) for table in self.tables.values())


def read_database(service: str, engine: Engine) -> ServiceDump:
    """Every row of every table of ``engine``'s database, in one read-only transaction."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    tables: dict[str, TableDump] = {}
    with engine.connect() as connection:
        for table in sorted(metadata.sorted_tables, key=lambda table: table.name):
            if table.name.startswith(SKIPPED_PREFIX):
                continue
            columns = tuple(column.name for column in table.columns)
            primary_key = tuple(column.name for column in table.primary_key.columns)
            order = [table.c[name] for name in (primary_key or columns)]
            rows = tuple(tuple(row) for row in connection.execute(select(table).order_by(*order)))
            foreign_keys = tuple(
                sorted(
                    (
                        ForeignKey(
                            columns=tuple(element.parent.name for element in constraint.elements),
                            table=constraint.referred_table.name,
                            referred=tuple(element.column.name for element in constraint.elements),
                        )
                        for constraint in table.foreign_key_constraints
                    ),
                    key=lambda key: (key.table, key.columns),
                )
            )
            tables[table.name] = TableDump(table.name, columns, primary_key, foreign_keys, rows)
        connection.rollback()
    return ServiceDump(service, tables)
