"""``build_report``: the ground truth and what each regime's parties stored, to one report document.

The document is the JSON the command prints with ``--format json`` (schema ``citygate.report/1``,
docs/report-schema.md); the terminal tables and the HTML page are drawn from it and from nothing else.
The same inputs give the same document, byte for byte (``Report.to_json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from kernel.regime import Regime
from workshop.report.breach import simulate
from workshop.report.classes import ABSENT, CLASSES, STATES
from workshop.report.convenience import journey_costs
from workshop.report.declared import declared_reason
from workshop.report.labels import kind_label
from workshop.report.linkability import QUASI_FIELDS, TIMESTAMP_WINDOW_SECONDS, pair_links, set_links
from workshop.report.parties import named_sets, parties_in
from workshop.report.regime import RegimeFindings, analyse_regime
from workshop.report.stored import ServiceDump
from workshop.report.truth import TRUTH_SCHEMA, Truth

REPORT_SCHEMA = "citygate.report/1"


@dataclass(frozen=True)
class Report:
    document: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.document, ensure_ascii=False, indent=2) + "\n"


def build_report(truth: Truth, stores: Mapping[Regime, Mapping[str, ServiceDump]]) -> Report:
    """The report over every regime in ``stores`` (each: service name -> its rows)."""
    regimes = [regime for regime in Regime if regime in stores]
    return Report(
        {
            "schema": REPORT_SCHEMA,
            "population": {"truth_schema": TRUTH_SCHEMA, "seed": truth.seed, "residents": len(truth.residents)},
            "method": {
                "timestamp_window_seconds": TIMESTAMP_WINDOW_SECONDS,
                "quasi_identifiers": list(QUASI_FIELDS),
                "percentiles": "nearest-rank",
                "breach": "the parties' databases, without their keys directories",
            },
            "classes": [
                {
                    "key": attribute.key,
                    "label": attribute.label,
                    "identifying": attribute.identifying,
                    "category": attribute.category,
                    "sensitive": attribute.sensitive,
                }
                for attribute in CLASSES
            ],
            "states": [*STATES.values(), ABSENT],
            "regimes": [_regime_section(truth, regime, stores[regime]) for regime in regimes],
        }
    )


def _regime_section(truth: Truth, regime: Regime, stores: Mapping[str, ServiceDump]) -> dict[str, Any]:
    parties = tuple(party for party in parties_in(regime) if party.service in stores)
    findings = analyse_regime(regime.value, parties, truth, stores)
    pairs = pair_links(findings)
    sets = named_sets(parties)
    breach_sets: list[tuple[str, tuple[str, ...]]] = [(party.key, (party.key,)) for party in parties]
    breach_sets += [(f"{a} + {b}", (a, b)) for a, b in combinations([party.key for party in parties], 2)]
    breach_sets += list(sets)
    return {
        "regime": regime.value,
        "residents": findings.population,
        "parties": [
            {
                "key": party.key,
                "title": party.title,
                "service": party.service,
                "tables": sorted(party.tables) if party.tables is not None else None,
                "rows": findings.parties[party.key].rows,
            }
            for party in parties
        ],
        "exposure": exposure_cells(findings),
        "links": [
            {
                "parties": list(pair),
                "linked": len(links.linked),
                "keys": [_key(regime.value, pair, link.kind, len(link.residents)) for link in links.by_kind],
            }
            for pair, links in pairs.items()
        ],
        "colluding_sets": [_colluding(findings, regime.value, name, members, pairs) for name, members in sets],
        "breaches": [_breach(findings, name, members) for name, members in breach_sets],
        "convenience": [
            {
                "journey": cost.journey,
                "runs": cost.runs,
                "succeeded": cost.succeeded,
                "refused": cost.refused,
                "failed": cost.failed,
                "success_rate": cost.success_rate,
                "steps_median": cost.steps_median,
                "prompts_median": cost.prompts_median,
                "latency_ms": {"p50": cost.latency_p50_ms, "p95": cost.latency_p95_ms},
            }
            for cost in journey_costs(truth, (regime.value,))
        ],
    }


def exposure_cells(findings: RegimeFindings) -> list[dict[str, Any]]:
    """The exposure matrix of one regime: per party and attribute class, how many residents it holds
    in each state, the strongest state, and where it found them (the report's ``exposure``)."""
    cells = []
    for party_key, party in findings.parties.items():
        for attribute in CLASSES:
            residents = party.cells.get(attribute.key, {})
            counts = {name: sum(1 for state in residents.values() if state == rank) for rank, name in STATES.items()}
            strongest = next((STATES[rank] for rank in sorted(STATES, reverse=True) if counts[STATES[rank]]), ABSENT)
            cells.append(
                {
                    "party": party_key,
                    "class": attribute.key,
                    "state": strongest,
                    **counts,
                    "held": len(residents),
                    "where": sorted(party.where.get(attribute.key, ())) if residents else [],
                }
            )
    return cells


def _key(regime: str, pair: tuple[str, str], kind: str, residents: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "label": kind_label(kind),
        "residents": residents,
        "declared": declared_reason(regime, pair, kind),
    }


def _colluding(
    findings: RegimeFindings, regime: str, name: str, members: tuple[str, ...], pairs: Mapping[tuple[str, str], Any]
) -> dict[str, Any]:
    linked, joined, kinds = set_links(findings, members, dict(pairs))
    return {
        "name": name,
        "parties": list(members),
        "linked": len(linked),
        "joined": len(joined),
        "keys": [
            {"kind": kind, "label": kind_label(kind), "residents": len(residents)}
            for kind, residents in sorted(kinds.items())
        ],
    }


def _breach(findings: RegimeFindings, name: str, members: tuple[str, ...]) -> dict[str, Any]:
    breach = simulate(findings, name, members)
    return {
        "name": breach.name,
        "parties": list(breach.parties),
        "affected": breach.affected,
        "attributes_per_resident": {"mean": breach.attributes_mean, "max": breach.attributes_max},
        "special_categories": breach.categories,
        "reidentified": breach.reidentified,
        "pseudonymous_only": breach.pseudonymous_only,
        "sealed": breach.sealed,
    }


def resident_exposure(findings: RegimeFindings, handle: str) -> dict[str, dict[str, str]]:
    """The exposure matrix restricted to one resident: party -> attribute class -> the strongest state
    the party holds it in (``clear``, ``pseudonymised``, ``sealed``); a party that holds nothing of
    theirs maps to an empty dict, and so does every party for a handle the truth does not name."""
    resident = findings.key.residents_by_handle.get(handle)
    return {
        party_key: {
            attribute.key: STATES[party.cells[attribute.key][resident]]
            for attribute in CLASSES
            if resident is not None and resident in party.cells.get(attribute.key, {})
        }
        for party_key, party in findings.parties.items()
    }
