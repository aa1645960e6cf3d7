"""Who learned what, read from the parties' stored data the way ``citygate report`` reads it.

Each regime's databases are read read-only (``workshop.report.sources``) and matched against a ground
truth: the population's (``<data dir>/population/truth.json``) once ``citygate populate`` has written
one, since it names everyone a persona's values could be confused with; before that, the five demo
personas alone (``workshop.population.demo_personas``, from the services' own demo seeds). A regime's
findings are kept until one of its database files changes, so polling an idle stack costs a few
``stat`` calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from kernel.regime import Regime
from workshop.population import truth as population_truth
from workshop.report.classes import BY_KEY, CLASSES
from workshop.report.parties import Party, parties_in
from workshop.report.regime import RegimeFindings, analyse_regime
from workshop.report.report import build_report, exposure_cells, resident_exposure
from workshop.report.sources import MissingData, database_urls, read_services
from workshop.report.stored import ServiceDump
from workshop.report.truth import Truth, TruthError, read_truth, truth_from_document, truth_path
from workshop.stage.changes import Cell

CHINA = timezone(timedelta(hours=8))
StoreReader = Callable[[Regime], Mapping[str, ServiceDump]]


@dataclass(frozen=True)
class Learned:
    attribute: str
    label: str
    state: str  # clear, pseudonymised or sealed
    changed: bool


@dataclass(frozen=True)
class PartyLearned:
    key: str
    title: str
    learned: tuple[Learned, ...]


@dataclass(frozen=True)
class MatrixCell:
    state: str  # the strongest state any resident is held in, or "absent"
    held: int
    changed: bool


@dataclass(frozen=True)
class Matrix:
    parties: tuple[Party, ...]
    rows: tuple[tuple[str, tuple[MatrixCell, ...]], ...]  # attribute label, one cell per party
    residents: int
    population: bool  # False: the demo personas alone (no population yet)


@dataclass(frozen=True)
class ReportDocument:
    document: dict[str, Any]  # schema citygate.report/1
    population: bool  # False: the demo personas alone (no population yet)
    missing: tuple[str, ...]  # what is missing of a regime left out (its services not started yet)


def personas_truth(today: datetime | None = None) -> Truth:
    """The ground truth of the demo personas and the facts the demo seeds hold about them."""
    day = (today or datetime.now(UTC)).astimezone(CHINA).date()
    residents = list(population_truth.persona_residents(day))
    document = population_truth.truth_to_json(
        population_truth.Truth(0, day, residents, population_truth.persona_facts(day))
    )
    return truth_from_document(document)


def persona_figures(findings: RegimeFindings, handle: str) -> dict[Cell, str]:
    return {
        (party, attribute): state
        for party, held in resident_exposure(findings, handle).items()
        for attribute, state in held.items()
    }


def party_views(findings: RegimeFindings, figures: Mapping[Cell, str], changed: frozenset[Cell]) -> list[PartyLearned]:
    """Each party of the regime, in the topology's order, with what it holds of the persona."""
    views = []
    for party_key, party in findings.parties.items():
        learned = tuple(
            Learned(
                attribute.key,
                attribute.label,
                figures[(party_key, attribute.key)],
                (party_key, attribute.key) in changed,
            )
            for attribute in CLASSES
            if (party_key, attribute.key) in figures
        )
        gone = tuple(
            Learned(attribute, BY_KEY[attribute].label, "absent", True)
            for (key, attribute) in sorted(changed)
            if key == party_key and (key, attribute) not in figures
        )
        views.append(PartyLearned(party_key, party.party.title, learned + gone))
    return views


def matrix_figures(findings: RegimeFindings) -> dict[Cell, str]:
    return {(cell["party"], cell["class"]): f"{cell['state']}:{cell['held']}" for cell in exposure_cells(findings)}


def matrix(findings: RegimeFindings, changed: frozenset[Cell], *, population: bool) -> Matrix:
    cells = {(cell["party"], cell["class"]): cell for cell in exposure_cells(findings)}
    parties = tuple(party.party for party in findings.parties.values())
    rows = tuple(
        (
            attribute.label,
            tuple(
                MatrixCell(
                    cells[(party.key, attribute.key)]["state"],
                    cells[(party.key, attribute.key)]["held"],
                    (party.key, attribute.key) in changed,
                )
                for party in parties
            ),
        )
        for attribute in CLASSES
    )
    return Matrix(parties, rows, findings.population, population)


class Evidence:
    """Each regime's findings over the stored data under one data root, recomputed when it changes."""

    def __init__(
        self,
        data_root: Path,
        database_urls_by_regime: Mapping[Regime, Mapping[str, str]] | None = None,
        *,
        read: StoreReader | None = None,
    ) -> None:
        self.data_root = data_root
        self._urls = {
            regime: dict((database_urls_by_regime or {}).get(regime) or database_urls(data_root, regime))
            for regime in Regime
        }
        self._read = read or (lambda regime: read_services(self._urls[regime]))
        self._lock = threading.Lock()
        self._cached: dict[Regime, tuple[object, RegimeFindings, bool]] = {}
        self._document: tuple[object, ReportDocument] | None = None

    def findings(self, regime: Regime) -> tuple[RegimeFindings, bool]:
        """The regime's findings and whether they are over a population (else: the personas alone).
        ``workshop.report.sources.MissingData`` when a database is not there yet."""
        with self._lock:
            fingerprint = self._fingerprint(regime)
            cached = self._cached.get(regime)
            if cached is not None and fingerprint is not None and cached[0] == fingerprint:
                return cached[1], cached[2]
            truth, population = self._truth()
            stores = self._read(regime)
            parties = tuple(party for party in parties_in(regime) if party.service in stores)
            found = analyse_regime(regime.value, parties, truth, stores)
            self._cached[regime] = (fingerprint, found, population)
            return found, population

    def report_document(self) -> ReportDocument:
        """``citygate report``'s document (``workshop.report.report``) over the regimes whose databases
        are there, kept until a database or the truth changes, as the findings are.
        ``workshop.report.sources.MissingData`` when neither regime's are."""
        with self._lock:
            fingerprint = tuple(self._fingerprint(regime) for regime in Regime)
            cached = self._document
            if cached is not None and None not in fingerprint and cached[0] == fingerprint:
                return cached[1]
            truth, population = self._truth()
            stores: dict[Regime, Mapping[str, ServiceDump]] = {}
            missing: list[str] = []
            for regime in Regime:
                try:
                    stores[regime] = self._read(regime)
                except MissingData as error:
                    missing += [f"{regime.value} {line}" for line in error.missing]
            if not stores:
                raise MissingData(missing)
            found = ReportDocument(build_report(truth, stores).document, population, tuple(missing))
            self._document = (fingerprint, found)
            return found

    def _truth(self) -> tuple[Truth, bool]:
        path = truth_path(self.data_root)
        if path.is_file():
            try:
                return read_truth(path), True
            except TruthError:
                pass  # being written, or from another version: the personas still have theirs
        return personas_truth(), False

    def _fingerprint(self, regime: Regime) -> object | None:
        """What changes when any of the regime's SQLite files or the truth file changes; None when a
        database is no file (PostgreSQL: read again every time)."""
        files = [truth_path(self.data_root)]
        for url in self._urls[regime].values():
            parsed = make_url(url)
            if parsed.get_backend_name() != "sqlite" or not parsed.database:
                return None
            files += [Path(parsed.database + suffix) for suffix in ("", "-wal")]
        return tuple(_stat(path) for path in files)


def _stat(path: Path) -> Any:
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)
