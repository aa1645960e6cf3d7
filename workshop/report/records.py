"""What each party holds about whom: its rows joined into records, attributed to residents.

A *record* is one row together with the rows it refers to through the foreign keys its database
declares, transitively (a fine with its vehicle; a booking with its slot and office; a prescription's
contents with the prescription): what the party itself can join without anyone's help. A record is
*attributed* to a resident when it contains an identifier (``workshop.report.index``) that belongs to
that resident alone: *directly* (resident ID, phone, a name nobody else has) or *indirectly* (a
pseudonym, the identity provider's account id, a plate).

Then, per resident the record is attributed to, the attribute classes it reveals
(``workshop.report.classes``), each in the state the attribution gives it: *clear* when the record
names the resident directly, *pseudonymised* when only indirectly, *sealed* for values only a key
outside the database opens. Identifying values (resident ID, phone, a unique name, an address, a plate)
count wherever they are found, attributed or not: the value is the person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from workshop.report.classes import BY_KEY, CLEAR, PSEUDONYMISED, SEALED
from workshop.report.index import CLASS_OF_KIND, CREDIT_WORDS, MARITAL_WORDS, SERVICE_WORDS, AuditorKey
from workshop.report.matching import normalised
from workshop.report.parties import Party
from workshop.report.stored import ServiceDump, TableDump
from workshop.report.values import Flattened, flatten

# Long opaque strings (ids, pseudonyms, tokens, references): what two stores join records on.
OPAQUE = re.compile(r"[A-Za-z0-9_\-:.]{16,}")
TIMESTAMP_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]")
WORDS = CREDIT_WORDS | MARITAL_WORDS | SERVICE_WORDS
DERIVED_FROM_ID = "(derived from the resident ID, which encodes it)"


@dataclass
class RowFacts:
    terms: dict[int, str] = field(default_factory=dict)  # term -> where (table.column path)
    words: dict[str, str] = field(default_factory=dict)  # a meaningful whole value -> where
    opaque: dict[str, str] = field(default_factory=dict)  # token -> where
    timestamps: list[datetime] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    sealed: list[str] = field(default_factory=list)


@dataclass
class RecordFindings:
    residents: dict[int, int]  # attributed resident -> CLEAR (named directly) or PSEUDONYMISED
    classes: dict[int, dict[str, int]]  # resident -> class -> state, for what this record reveals
    keys: frozenset[str]  # what it can be joined on: "t<term>" (an identifier) or "r:<token>"
    timestamps: tuple[datetime, ...]
    amount_days: frozenset[tuple[int, date]]


@dataclass
class PartyFindings:
    party: Party
    rows: int
    records: list[RecordFindings]
    cells: dict[str, dict[int, int]]  # class -> resident -> strongest state
    where: dict[str, set[str]]  # class -> where it was found
    key_paths: dict[str, str]  # "r:<token>" -> where it was first found


def row_facts(table: str, columns: Iterable[str], row: Iterable[object], key: AuditorKey) -> RowFacts:
    facts = RowFacts()
    for column, value in zip(columns, row, strict=True):
        found = Flattened()
        flatten(column, value, found)
        facts.timestamps += found.timestamps
        facts.amounts += found.amounts
        facts.sealed += [f"{table}.{path}" for path in found.sealed]
        for path, text in found.leaves:
            where = f"{table}.{path}"
            for term in key.needles.find(text):
                facts.terms.setdefault(term, where)
            word = normalised(text)
            for candidate in (word, word.rsplit(":", 1)[-1]):
                if candidate in WORDS:
                    facts.words.setdefault(candidate, where)
            for token in OPAQUE.findall(text):
                if token not in key.identifier_values and not TIMESTAMP_LIKE.match(token):
                    facts.opaque.setdefault(token, where)
    return facts


def analyse_party(party: Party, dump: ServiceDump, key: AuditorKey) -> PartyFindings:
    tables = [table for name, table in sorted(dump.tables.items()) if party.holds(name)]
    rows: list[RowFacts] = []
    position: dict[tuple[str, int], int] = {}
    for table in tables:
        for number, row in enumerate(table.rows):
            position[(table.name, number)] = len(rows)
            rows.append(row_facts(table.name, table.columns, row, key))
    parents = _parents(tables, position)
    findings = PartyFindings(party, len(rows), [], {}, {}, {})
    for start in range(len(rows)):
        merged = _merge(rows, _closure(start, parents))
        record = _record(party, merged, key, findings)
        if record is not None:
            findings.records.append(record)
        for token, where in merged.opaque.items():
            known = findings.key_paths.get(f"r:{token}")
            if known is None or (where.endswith(".id") and not known.endswith(".id")):
                findings.key_paths[f"r:{token}"] = where  # named after the column it identifies rows by
    resident_ids = findings.cells.get("resident_id", {})
    if resident_ids:
        births = findings.cells.setdefault("birth_date", {})
        for resident, state in resident_ids.items():
            births[resident] = max(births.get(resident, 0), state)
        findings.where.setdefault("birth_date", set()).add(DERIVED_FROM_ID)
    return findings


def _parents(tables: list[TableDump], position: dict[tuple[str, int], int]) -> list[list[int]]:
    """For every row, the rows its foreign keys point at (within the party's tables)."""
    by_name = {table.name: table for table in tables}
    lookups: dict[tuple[str, tuple[str, ...]], dict[tuple[object, ...], list[int]]] = {}
    parents: list[list[int]] = [[] for _ in position]
    for table in tables:
        for foreign_key in table.foreign_keys:
            referred = by_name.get(foreign_key.table)
            if referred is None:
                continue
            lookup = lookups.get((referred.name, foreign_key.referred))
            if lookup is None:
                indexes = [referred.columns.index(column) for column in foreign_key.referred]
                lookup = {}
                for number, row in enumerate(referred.rows):
                    lookup.setdefault(tuple(row[i] for i in indexes), []).append(position[(referred.name, number)])
                lookups[(referred.name, foreign_key.referred)] = lookup
            local = [table.columns.index(column) for column in foreign_key.columns]
            for number, row in enumerate(table.rows):
                values = tuple(row[i] for i in local)
                if any(value is None for value in values):
                    continue
                parents[position[(table.name, number)]] += lookup.get(values, [])
    return parents


def _closure(start: int, parents: list[list[int]]) -> list[int]:
    seen = {start}
    order = [start]
    pending = [start]
    while pending:
        for parent in parents[pending.pop()]:
            if parent not in seen:
                seen.add(parent)
                order.append(parent)
                pending.append(parent)
    return order


def _merge(rows: list[RowFacts], members: list[int]) -> RowFacts:
    if len(members) == 1:
        return rows[members[0]]
    merged = RowFacts()
    for member in members:
        facts = rows[member]
        for term, where in facts.terms.items():
            merged.terms.setdefault(term, where)
        for word, where in facts.words.items():
            merged.words.setdefault(word, where)
        for token, where in facts.opaque.items():
            merged.opaque.setdefault(token, where)
        merged.timestamps += facts.timestamps
        merged.amounts += facts.amounts
        merged.sealed += facts.sealed
    return merged


def _record(party: Party, facts: RowFacts, key: AuditorKey, findings: PartyFindings) -> RecordFindings | None:
    residents: dict[int, int] = {}
    identifier_paths: dict[int, str] = {}
    for term_id, where in facts.terms.items():
        term = key.terms[term_id]
        if term.identifier:
            (owner,) = term.owners
            residents[owner] = max(residents.get(owner, 0), CLEAR if term.direct else PSEUDONYMISED)
            identifier_paths.setdefault(owner, where)
    classes: dict[int, dict[str, int]] = {}

    def note(resident: int, attribute: str, state: int, where: str) -> None:
        held = classes.setdefault(resident, {})
        held[attribute] = max(held.get(attribute, 0), state)
        cell = findings.cells.setdefault(attribute, {})
        cell[resident] = max(cell.get(resident, 0), state)
        findings.where.setdefault(attribute, set()).add(where)

    places = [where for term_id, where in facts.terms.items() if key.terms[term_id].kind == "place"]
    for term_id, where in facts.terms.items():
        term = key.terms[term_id]
        attribute = CLASS_OF_KIND.get(term.kind)
        if attribute is None:
            continue
        if BY_KEY[attribute].identifying and (term.kind != "name" or len(term.owners) == 1):
            for owner in term.owners:
                note(owner, attribute, CLEAR, where)
        else:
            for owner in term.owners & residents.keys():
                note(owner, attribute, residents[owner], where)
    own_words = {normalised(party.service), normalised(party.key)}
    for resident, state in residents.items():
        spouses = key.spouses.get(resident, frozenset()) & residents.keys()
        if spouses:
            note(resident, "marital", state, identifier_paths[min(spouses)])
        for word, where in facts.words.items():
            if word in MARITAL_WORDS:
                note(resident, "marital", state, where)
            if word in CREDIT_WORDS:
                note(resident, "credit", state, where)
            if word in SERVICE_WORDS and word not in own_words and facts.timestamps:
                note(resident, "journeys", state, where)
        if places and facts.timestamps:
            note(resident, "appointments", state, places[0])
        for token, where in facts.opaque.items():
            if token in key.payment_references:
                note(resident, "payments", state, where)
                break
        for where in facts.sealed[:1]:
            note(resident, "sealed", SEALED, where)
    keys = {f"t{term_id}" for term_id in facts.terms if _joins(key, term_id)}
    keys.update(f"r:{token}" for token in facts.opaque)
    if not residents and not classes and not keys:
        return None
    return RecordFindings(
        residents=residents,
        classes=classes,
        keys=frozenset(keys),
        timestamps=tuple(facts.timestamps),
        amount_days=frozenset((amount, moment.date()) for amount in facts.amounts for moment in facts.timestamps[:8]),
    )


def _joins(key: AuditorKey, term_id: int) -> bool:
    """Identifiers, and an address only one resident has: exact values two stores can join on."""
    term = key.terms[term_id]
    return term.identifier or (term.kind == "address" and len(term.owners) == 1)
