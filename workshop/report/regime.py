"""One regime's stores analysed together: each party's findings, and who each join key belongs to.

A join key (an identifier, a unique address, or any long opaque string such as a payment reference,
a prescription id or a token) *belongs* to a resident when every attributed record that contains it,
at every party, is attributed to that resident alone. Only keys that belong to one resident link
records: a signing key's id or an office's id sits in everyone's records and links nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from workshop.report.index import AuditorKey, build_key
from workshop.report.parties import Party
from workshop.report.records import PartyFindings, analyse_party
from workshop.report.stored import ServiceDump
from workshop.report.truth import Truth


@dataclass
class RegimeFindings:
    regime: str
    key: AuditorKey
    parties: dict[str, PartyFindings]
    owner: dict[str, int] = field(default_factory=dict)  # join key -> the resident it belongs to
    holders: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # join key -> party -> records
    records_of: dict[int, dict[str, set[int]]] = field(default_factory=dict)  # resident -> party -> records

    @property
    def population(self) -> int:
        return len(self.key.truth.residents)


def analyse_regime(
    regime: str, parties: tuple[Party, ...], truth: Truth, stores: Mapping[str, ServiceDump]
) -> RegimeFindings:
    key = build_key(truth, stores)
    found = {
        party.key: analyse_party(party, stores[party.service], key) for party in parties if party.service in stores
    }
    findings = RegimeFindings(regime, key, found)
    claimed: dict[str, set[int]] = {}
    for party_key, party in found.items():
        for number, record in enumerate(party.records):
            for join_key in record.keys:
                findings.holders.setdefault(join_key, {}).setdefault(party_key, []).append(number)
                if join_key.startswith("r:"):
                    claimed.setdefault(join_key, set()).update(record.residents)
            for resident in record.residents.keys() | record.classes.keys():
                findings.records_of.setdefault(resident, {}).setdefault(party_key, set()).add(number)
    for join_key in findings.holders:
        if join_key.startswith("t"):
            (owner,) = key.terms[int(join_key[1:])].owners
            findings.owner[join_key] = owner
        elif len(claimed.get(join_key, ())) == 1:
            (findings.owner[join_key],) = claimed[join_key]
    for join_key, owner in findings.owner.items():
        for party_key, numbers in findings.holders[join_key].items():
            findings.records_of.setdefault(owner, {}).setdefault(party_key, set()).update(numbers)
    return findings


def key_kind(findings: RegimeFindings, join_key: str, parties: tuple[str, ...] = ()) -> str:
    """What a join key is, for the report: ``resident-id``, ``pseudonym:health``, ``payment-reference``,
    ``reference:prescription.id`` (a record id is named after where ``parties`` keep it)."""
    if join_key.startswith("t"):
        return findings.key.terms[int(join_key[1:])].kind
    token = join_key[2:]
    if token in findings.key.payment_references:
        return "payment-reference"
    paths = sorted(
        party.key_paths[join_key]
        for key, party in findings.parties.items()
        if join_key in party.key_paths and (not parties or key in parties)
    )
    return f"reference:{_preferred(paths)}"


def _preferred(paths: list[str]) -> str:
    """A key is named after the column it identifies rows by (``prescription.id``) when there is one."""
    for path in paths:
        if path.endswith(".id"):
            return path
    return paths[0] if paths else "?"
