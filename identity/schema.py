"""Columns added to identity tables after they were first created.

``create_all`` creates missing tables but never alters existing ones, so a database made by an
earlier version (a developer's ``var/``) gets the new columns here, at start, once.
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from kernel.database import Database

# (table, column) -> its SQL type; every added column is nullable
ADDED_COLUMNS: dict[tuple[str, str], str] = {
    ("authorization_code", "resource"): "VARCHAR(200)",
}


def upgrade(database: Database) -> None:
    for (table, column), sql_type in ADDED_COLUMNS.items():
        if _has_column(database, table, column):
            continue
        try:
            with database.engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
        except DBAPIError:
            if not _has_column(database, table, column):  # not just another process being quicker
                raise


def _has_column(database: Database, table: str, column: str) -> bool:
    return column in {info["name"] for info in inspect(database.engine).get_columns(table)}
