"""Which residents' records two parties (or a colluding set) can join, and on what.

- **Shared identifiers**: a join key that belongs to one resident (``workshop.report.regime``) and
  is held by both parties: the resident ID, a phone number, a plate, a unique address, a pseudonym,
  a payment reference, any other record id they both keep.
- **Quasi-identifiers**: the birth date, sex and district both parties hold about the resident
  (the resident ID encodes birth date and sex), when the values pin down one resident among those
  the other party holds the same fields for.
- **Timestamps**: a record of the resident at one party and one at the other within
  ``TIMESTAMP_WINDOW_SECONDS``, when no other resident has a record at the second party in that window.
- **Amounts**: the same amount on the same day, when no other resident's record at the second party has it.

A resident counts once per pair, and under every way that links them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import combinations

from workshop.report.classes import PSEUDONYMISED
from workshop.report.regime import RegimeFindings, key_kind

TIMESTAMP_WINDOW_SECONDS = 2.0
QUASI_FIELDS = ("birth_date", "sex", "district")


@dataclass(frozen=True)
class Link:
    kind: str
    residents: frozenset[int]


@dataclass(frozen=True)
class PairLinks:
    parties: tuple[str, str]
    linked: frozenset[int]
    by_kind: tuple[Link, ...]


def pair_links(findings: RegimeFindings) -> dict[tuple[str, str], PairLinks]:
    """Every pair of parties (in the regime's order): the residents linked, by each kind of link."""
    order = list(findings.parties)
    by_pair: dict[tuple[str, str], dict[str, set[int]]] = {pair: {} for pair in combinations(order, 2)}
    for join_key, owner in findings.owner.items():
        holders = [party for party in order if party in findings.holders[join_key]]
        if len(holders) < 2:
            continue
        for pair in combinations(holders, 2):
            by_pair[pair].setdefault(key_kind(findings, join_key, pair), set()).add(owner)
    quasi = {party: _quasi_profiles(findings, party) for party in order}
    times = {party: _timeline(findings, party) for party in order}
    amounts = {party: _amount_index(findings, party) for party in order}
    for first, second in by_pair:
        kinds = by_pair[(first, second)]
        for kind, residents in _quasi_links(quasi[first], quasi[second]).items():
            kinds.setdefault(kind, set()).update(residents)
        timed = _timed_links(times[first], times[second]) | _timed_links(times[second], times[first])
        if timed:
            kinds.setdefault("timestamps", set()).update(timed)
        paid = _amount_links(amounts[first], amounts[second]) | _amount_links(amounts[second], amounts[first])
        if paid:
            kinds.setdefault("amounts", set()).update(paid)
    return {
        pair: PairLinks(
            pair,
            frozenset(resident for residents in kinds.values() for resident in residents),
            tuple(Link(kind, frozenset(residents)) for kind, residents in sorted(kinds.items(), key=_strength)),
        )
        for pair, kinds in by_pair.items()
    }


def set_links(
    findings: RegimeFindings, members: tuple[str, ...], pairs: dict[tuple[str, str], PairLinks]
) -> tuple[frozenset[int], frozenset[int], dict[str, set[int]]]:
    """For a colluding set: residents with records at two of its parties joined; residents whose
    records at every party of the set that holds them join into one profile (two parties at least);
    and the kinds of link used."""
    linked: set[int] = set()
    kinds: dict[str, set[int]] = {}
    edges: dict[int, list[tuple[str, str]]] = {}
    for pair in combinations(members, 2):
        ordered = pair if pair in pairs else (pair[1], pair[0])
        for link in pairs[ordered].by_kind:
            kinds.setdefault(link.kind, set()).update(link.residents)
            for resident in link.residents:
                edges.setdefault(resident, []).append(pair)
        linked.update(pairs[ordered].linked)
    joined: set[int] = set()
    for resident, resident_edges in edges.items():
        holding = {party for party in members if party in findings.records_of.get(resident, {})}
        holding.update(party for edge in resident_edges for party in edge)
        if len(holding) >= 2 and _connected(holding, resident_edges):
            joined.add(resident)
    return frozenset(linked), frozenset(joined), kinds


def _connected(nodes: set[str], edges: Iterable[tuple[str, str]]) -> bool:
    parent = {node: node for node in nodes}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        parent[root(a)] = root(b)
    return len({root(node) for node in nodes}) == 1


_ORDER = ("resident-id", "phone", "name", "plate", "address", "account", "pseudonym:", "payment-reference")


def _strength(item: tuple[str, set[int]]) -> tuple[int, str]:
    kind = item[0]
    for rank, prefix in enumerate(_ORDER):
        if kind.startswith(prefix):
            return rank, kind
    tail = {"reference:": 20, "quasi:": 30, "timestamps": 40, "amounts": 50}
    return next((rank for prefix, rank in tail.items() if kind.startswith(prefix)), 60), kind


# --- quasi-identifiers ------------------------------------------------------------------------------


def _quasi_profiles(findings: RegimeFindings, party: str) -> dict[int, dict[str, object]]:
    """What of birth date, sex and district the party holds about each resident."""
    cells = findings.parties[party].cells
    truth = findings.key.truth
    profiles: dict[int, dict[str, object]] = {}

    def held(attribute: str) -> Iterable[int]:
        return (resident for resident, state in cells.get(attribute, {}).items() if state >= PSEUDONYMISED)

    for resident in held("birth_date"):
        profiles.setdefault(resident, {})["birth_date"] = truth.residents[resident].birth_date
    for resident in held("resident_id"):
        profiles.setdefault(resident, {})["sex"] = truth.residents[resident].sex or _sex_of(
            truth.residents[resident].resident_id
        )
    for resident in held("address"):
        district = truth.residents[resident].district
        if district:
            profiles.setdefault(resident, {})["district"] = district
    return profiles


def _sex_of(resident_id: str) -> str:
    """GB 11643: the 17th digit is odd for men, even for women."""
    return "male" if resident_id[16:17].isdigit() and int(resident_id[16]) % 2 else "female"


def _quasi_links(first: dict[int, dict[str, object]], second: dict[int, dict[str, object]]) -> dict[str, set[int]]:
    links: dict[str, set[int]] = {}
    index: dict[tuple[str, ...], dict[tuple[object, ...], set[int]]] = {}
    for resident, profile in first.items():
        other = second.get(resident)
        if not other:
            continue
        fields = tuple(name for name in QUASI_FIELDS if name in profile and name in other)
        if not fields:
            continue
        if fields not in index:
            index[fields] = {}
            for candidate, candidate_profile in second.items():
                if all(name in candidate_profile for name in fields):
                    signature = tuple(candidate_profile[name] for name in fields)
                    index[fields].setdefault(signature, set()).add(candidate)
        if index[fields].get(tuple(profile[name] for name in fields)) == {resident}:
            links.setdefault("quasi:" + "+".join(fields), set()).add(resident)
    return links


# --- timestamps and amounts ---------------------------------------------------------------------------


Timeline = tuple[list[float], list[int], dict[int, list[float]]]


def _timeline(findings: RegimeFindings, party: str) -> Timeline:
    """The party's attributed moments, sorted (seconds since the epoch), and each resident's own."""
    moments: list[tuple[float, int]] = []
    own: dict[int, list[float]] = {}
    for record in findings.parties[party].records:
        for resident in record.residents:
            for moment in record.timestamps:
                seconds = moment.timestamp()
                moments.append((seconds, resident))
                own.setdefault(resident, []).append(seconds)
    moments.sort()
    return [seconds for seconds, _ in moments], [resident for _, resident in moments], own


def _timed_links(first: Timeline, second: Timeline) -> set[int]:
    seconds, residents, _ = second
    linked: set[int] = set()
    for resident, moments in first[2].items():
        if resident not in second[2]:
            continue
        for moment in moments:
            low = bisect_left(seconds, moment - TIMESTAMP_WINDOW_SECONDS)
            high = bisect_right(seconds, moment + TIMESTAMP_WINDOW_SECONDS)
            if low < high and all(residents[i] == resident for i in range(low, high)):
                linked.add(resident)
                break
    return linked


def _amount_index(findings: RegimeFindings, party: str) -> dict[tuple[int, date], set[int]]:
    index: dict[tuple[int, date], set[int]] = {}
    for record in findings.parties[party].records:
        for amount_day in record.amount_days:
            if amount_day[0] > 0:
                index.setdefault(amount_day, set()).update(record.residents)
    return index


def _amount_links(first: dict[tuple[int, date], set[int]], second: dict[tuple[int, date], set[int]]) -> set[int]:
    linked: set[int] = set()
    for amount_day, residents in first.items():
        if len(residents) == 1 and second.get(amount_day) == residents:
            linked.update(residents)
    return linked
