"""What a thief of some parties' databases learns (the databases only: keys directories are not in them).

For a set of parties, per resident: the attribute classes any of them holds readable (clear or
pseudonymised), the special categories among them, whether the thief can put a real identity
(resident ID, name or phone) next to a sensitive attribute by joining the stolen records on keys that
belong to that resident alone (``workshop.report.regime``: the identity provider's subject index, when
stolen too, is what joins a pseudonym to a name), and what stays sealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from workshop.report.classes import BY_KEY, CATEGORIES, PSEUDONYMISED, SEALED, SENSITIVE
from workshop.report.regime import RegimeFindings

IDENTITY_CLASSES = frozenset({"resident_id", "name", "phone"})


@dataclass(frozen=True)
class Breach:
    name: str
    parties: tuple[str, ...]
    affected: int
    attributes_mean: float
    attributes_max: int
    categories: dict[str, int]
    reidentified: int
    pseudonymous_only: int
    sealed: int


def simulate(findings: RegimeFindings, name: str, members: tuple[str, ...]) -> Breach:
    held: dict[int, set[str]] = {}
    sealed: set[int] = set()
    for party in members:
        for attribute, residents in findings.parties[party].cells.items():
            for resident, state in residents.items():
                if state >= PSEUDONYMISED:
                    held.setdefault(resident, set()).add(attribute)
                elif state == SEALED:
                    sealed.add(resident)
    affected = held.keys() | sealed
    reidentified = {resident for resident, attributes in held.items() if _reidentified(findings, resident, members)}
    sensitive = {resident for resident, attributes in held.items() if attributes & SENSITIVE}
    counts = [len(attributes) for attributes in held.values()]
    return Breach(
        name=name,
        parties=members,
        affected=len(affected),
        attributes_mean=round(sum(counts) / len(affected), 2) if affected else 0.0,
        attributes_max=max(counts, default=0),
        categories={
            category: sum(1 for attributes in held.values() if any(BY_KEY[a].category == category for a in attributes))
            for category in CATEGORIES
        },
        reidentified=len(reidentified),
        pseudonymous_only=len(sensitive - reidentified),
        sealed=len(sealed),
    )


def _reidentified(findings: RegimeFindings, resident: int, members: tuple[str, ...]) -> bool:
    """A stolen record names the resident and one, joined to it, holds a sensitive attribute of theirs."""
    nodes: list[tuple[str, int]] = [
        (party, number) for party in members for number in sorted(findings.records_of.get(resident, {}).get(party, ()))
    ]
    if not nodes:
        return False
    parent = {node: node for node in nodes}

    def root(node: tuple[str, int]) -> tuple[str, int]:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    first_with: dict[str, tuple[str, int]] = {}
    for node in nodes:
        record = findings.parties[node[0]].records[node[1]]
        for join_key in record.keys:
            if findings.owner.get(join_key) == resident:
                if join_key in first_with:
                    parent[root(node)] = root(first_with[join_key])
                else:
                    first_with[join_key] = node
    named: set[tuple[str, int]] = set()
    harmful: set[tuple[str, int]] = set()
    for node in nodes:
        record = findings.parties[node[0]].records[node[1]]
        readable = {
            attribute for attribute, state in record.classes.get(resident, {}).items() if state >= PSEUDONYMISED
        }
        if readable & IDENTITY_CLASSES:
            named.add(root(node))
        if readable & SENSITIVE:
            harmful.add(root(node))
    return bool(named & harmful)
