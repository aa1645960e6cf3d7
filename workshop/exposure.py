"""What each party actually stored: read every table of every service's database and look for a
citizen's attributes and for identifiers two parties share.

Nothing here trusts the code paths: it reads the rows (every text column, every table), so a
field that leaks by mistake shows up like one stored on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import MetaData, String, Text, select
from sqlalchemy.engine import Engine

# Long opaque strings (pseudonyms, resident IDs, tokens) — not words, dates or service names.
IDENTIFIER = re.compile(r"[A-Za-z0-9_\-:.]{16,}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]")


@dataclass(frozen=True)
class Found:
    service: str
    table: str
    column: str
    value: str


def stored_text(engine: Engine) -> list[tuple[str, str, str]]:
    """(table, column, value) for every non-empty text value in every table of ``engine``'s database."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    rows: list[tuple[str, str, str]] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            columns = [column for column in table.columns if isinstance(column.type, String | Text)]
            if not columns:
                continue
            for row in connection.execute(select(*columns)):
                rows.extend(
                    (table.name, column.name, value)
                    for column, value in zip(columns, row, strict=True)
                    if isinstance(value, str) and value
                )
    return rows


def occurrences(dumps: Mapping[str, list[tuple[str, str, str]]], needles: Iterable[str]) -> list[Found]:
    """Where each of ``needles`` appears (as a substring: it may sit inside JSON or a URL)."""
    wanted = [needle for needle in needles if needle]
    return [
        Found(service, table, column, needle)
        for service, rows in dumps.items()
        for table, column, value in rows
        for needle in wanted
        if needle in value
    ]


def identifiers(rows: list[tuple[str, str, str]]) -> set[str]:
    """Every identifier-looking token stored (inside JSON and URLs too)."""
    found: set[str] = set()
    for _, _, value in rows:
        found.update(token for token in IDENTIFIER.findall(value) if not TIMESTAMP.match(token))
    return found


def shared_identifiers(dumps: Mapping[str, list[tuple[str, str, str]]]) -> dict[tuple[str, str], set[str]]:
    """For each pair of parties, the identifiers both store: what lets them join their records."""
    tokens = {service: identifiers(rows) for service, rows in dumps.items()}
    return {(a, b): tokens[a] & tokens[b] for a, b in combinations(sorted(tokens), 2) if tokens[a] & tokens[b]}
