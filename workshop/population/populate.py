"""A city that used the services: N synthetic residents (the same people in both regimes), their
facts put in by the parties that own them, their journeys run through the gateway, and the ground
truth written to the data directory as the run goes (``workshop.population.truth``).

Running it again with the same seed adds residents (a larger N) or completes what an interrupted run
left; it never enrols, records or journeys anything twice. Another seed on the same data directory
is refused: the people would not be the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from workshop.population import truth as ground_truth
from workshop.population.facts import Fine, fines_for
from workshop.population.intake import IntakeReport, Operators, put_in
from workshop.population.people import Resident, generate
from workshop.population.plan import households
from workshop.population.progress import Reporter, Silent
from workshop.population.runner import FINAL, Deployment, JourneyRecord, RegimeRun, run_households

SAVE_EVERY = 25  # journeys between two writes of the truth file


class PopulationError(RuntimeError):
    """The run cannot start: what is wrong with the data directory or the request, in words."""


@dataclass
class PopulationRun:
    runs: list[RegimeRun] = field(default_factory=list)
    intake: dict[str, IntakeReport] = field(default_factory=dict)


async def populate(
    deployments: list[Deployment],
    *,
    citizens: int,
    seed: int,
    today: date,
    data_root: Path,
    reporter: Reporter | None = None,
) -> PopulationRun:
    reporter = reporter or Silent()
    residents = generate(citizens, seed=seed, today=today)
    people = {resident.persona.handle: resident.persona for resident in residents}
    fines = fines_for(list(people.values()), seed=seed, today=today)
    marriages = _marriages(residents)
    path = ground_truth.truth_path(data_root)
    truth = _truth_to_extend(path, seed)
    truth["residents"] = _residents_json(residents, today)
    truth["facts"] = {
        "fines": [fine.as_json() for fine in fines],
        "marriages": [{"spouses": [a.handle, b.handle], "registered_on": on} for a, b, on in marriages],
        "prescriptions": truth["facts"].get("prescriptions", []) if truth.get("facts") else [],
    }
    ground_truth.write_truth_json(path, truth)
    done = {(item["regime"], item["journey"], item["resident"]) for item in truth["journeys"] if item["outcome"] in FINAL}
    # an earlier failure is run again: its record is replaced by the new one
    truth["journeys"] = [item for item in truth["journeys"] if item["outcome"] in FINAL]
    plan = households(
        list(people.values()),
        patients={resident.persona.handle for resident in residents if resident.conditions},
        fined={person.handle for person in people.values() if person.plate and _has_fines(person.plate, fines)},
        seed=seed,
    )
    result = PopulationRun()
    unsaved = 0

    def on_journey(record: JourneyRecord) -> None:
        nonlocal unsaved
        truth["journeys"].append(record.as_json())
        if record.prescription and record.outcome == "succeeded":
            truth["facts"]["prescriptions"].append({"resident": record.resident, "regime": record.regime, **record.prescription})
        reporter.advance(record.regime, record)
        unsaved += 1
        if unsaved >= SAVE_EVERY:
            ground_truth.write_truth_json(path, truth)
            unsaved = 0

    try:
        for deployment in deployments:
            regime = deployment.regime.value
            operators = Operators(deployment.urls, deployment.keys_dirs, deployment.transport)
            try:
                reporter.stage(regime, "facts", _intake_calls(people.values(), fines, marriages))
                result.intake[regime] = await put_in(
                    operators, list(people.values()), fines, marriages, on_done=lambda: reporter.advance(regime)
                )
            finally:
                await operators.aclose()
            pending = sum(
                1 for household in plan for journey in household.journeys if (regime, *journey.key) not in done
            )
            reporter.stage(regime, "journeys", pending)
            result.runs.append(await run_households(deployment, plan, people, done=done, on_journey=on_journey))
    finally:
        ground_truth.write_truth_json(path, truth)
        reporter.close()
    return result


def _truth_to_extend(path: Path, seed: int) -> dict[str, Any]:
    if not path.exists():
        return {"schema": ground_truth.SCHEMA, "seed": seed, "residents": [], "facts": {}, "journeys": []}
    existing = ground_truth.read_truth_json(path)
    if existing["seed"] != seed:
        raise PopulationError(
            f"{path} holds a population made with seed {existing['seed']}, not {seed}: the people would not be "
            "the same; run with that seed, or on a fresh data directory"
        )
    return existing


def _residents_json(residents: list[Resident], today: date) -> list[dict[str, Any]]:
    personas = ground_truth.persona_residents(today)
    return [ground_truth.resident_to_json(resident) for resident in [*personas, *residents]]


def _marriages(residents: list[Resident]) -> list[tuple[Any, Any, str]]:
    by_handle = {resident.persona.handle: resident for resident in residents}
    couples = []
    for resident in residents:
        spouse = by_handle.get(resident.persona.spouse or "")
        if spouse is not None and resident.persona.handle < spouse.persona.handle and resident.married_on:
            couples.append((resident.persona, spouse.persona, resident.married_on.isoformat()))
    return couples


def _has_fines(plate: str, fines: list[Fine]) -> bool:
    return any(fine.plate == plate for fine in fines)


def _intake_calls(people: Any, fines: list[Fine], marriages: list[Any]) -> int:
    people = list(people)
    return len(people) + sum(1 for person in people if person.plate) + len(fines) + len(marriages)
