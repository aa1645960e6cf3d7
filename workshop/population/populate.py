"""A city that used the services: N synthetic residents (the same people in both regimes), their
facts put in by the parties that own them, their journeys run through the gateway, and the ground
truth written to the data directory as the run goes (``workshop.population.truth``).

Running it again with the same seed adds residents (a larger N) or completes what an interrupted run
left; it never enrols, records or journeys anything twice. Another seed on the same data directory
is refused: the people would not be the same.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kernel.personas import Persona
from workshop.population import truth as ground_truth
from workshop.population.camera_fines import CameraFine, fines_for
from workshop.population.conditions import Treatment, treatment_for
from workshop.population.demo_personas import persona_residents
from workshop.population.facts import FineFact, MarriageFact
from workshop.population.intake import IntakeReport, Operators, put_in
from workshop.population.people import Resident, couples, generate
from workshop.population.plan import households
from workshop.population.progress import Reporter, Silent
from workshop.population.runner import FINAL, Deployment, Finished, RegimeRun, run_households
from workshop.population.truth import Truth
from workshop.population.user_agent import PopulationTransport

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
    """Run ``citizens`` residents (seed ``seed``, drawn on ``today`` unless an earlier run of this data
    directory drew them on another day: its day is kept) through ``deployments``."""
    reporter = reporter or Silent()
    path = ground_truth.truth_path(data_root)
    truth = _truth_to_extend(path, seed, today)
    residents = generate(citizens, seed=seed, today=truth.today)
    people = {resident.handle: resident.persona for resident in residents}
    fines = fines_for(list(people.values()), seed=seed, today=truth.today)
    marriages = couples(residents)
    known = {resident.handle for resident in truth.residents}
    truth.residents += [
        resident for resident in [*persona_residents(truth.today), *residents] if resident.handle not in known
    ]
    _add_facts(truth, fines, marriages)
    # an earlier failure is run again: its record is replaced by the new one
    truth.journeys = [record for record in truth.journeys if record.outcome in FINAL]
    done = {(record.regime.value, record.journey, record.resident) for record in truth.journeys}
    ground_truth.write_truth(path, truth)
    plan = households(
        list(people.values()),
        patients={resident.handle for resident in residents if resident.conditions},
        fined={person.handle for person in people.values() if person.plate in {fine.plate for fine in fines}},
        seed=seed,
    )
    result = PopulationRun()
    unsaved = 0

    def on_journey(finished: Finished) -> None:
        nonlocal unsaved
        truth.journeys.append(finished.record)
        issued = finished.prescription
        if issued and finished.record.outcome == "succeeded" and issued not in truth.facts.prescriptions:
            truth.facts.prescriptions.append(issued)
        reporter.advance(finished.record.regime.value, finished.record)
        unsaved += 1
        if unsaved >= SAVE_EVERY:
            ground_truth.write_truth(path, truth)
            unsaved = 0

    try:
        for unlabelled in deployments:
            # every request of the run says it is the population's (the stage leaves them out of a step)
            transport = PopulationTransport(unlabelled.transport)
            deployment = dataclasses.replace(unlabelled, transport=transport)
            try:
                regime = deployment.regime.value
                advance = functools.partial(reporter.advance, regime)
                operators = Operators(deployment.urls, deployment.keys_dirs, deployment.transport)
                try:
                    reporter.stage(regime, "facts", _intake_calls(list(people.values()), fines, marriages))
                    result.intake[regime] = await put_in(
                        operators, list(people.values()), fines, marriages, on_done=advance
                    )
                finally:
                    await operators.aclose()
                pending = sum(
                    1 for household in plan for journey in household.journeys if (regime, *journey.key) not in done
                )
                reporter.stage(regime, "journeys", pending)
                result.runs.append(
                    await run_households(
                        deployment, plan, people, done=done, on_journey=on_journey, treatments=_treatments(residents)
                    )
                )
            finally:
                await transport.close()
    finally:
        ground_truth.write_truth(path, truth)
        reporter.close()
    return result


def _truth_to_extend(path: Path, seed: int, today: date) -> Truth:
    if not path.exists():
        return Truth(seed=seed, today=today)
    existing = ground_truth.read_truth(path)
    if existing.seed != seed:
        raise PopulationError(
            f"{path} holds a population made with seed {existing.seed}, not {seed}: the people would not be "
            "the same; run with that seed, or on a fresh data directory"
        )
    return existing


def _add_facts(truth: Truth, fines: list[CameraFine], marriages: list[tuple[Resident, Resident]]) -> None:
    recorded = {fact.reference for fact in truth.facts.fines}
    truth.facts.fines += [
        FineFact.model_validate(fine.as_json(without=("source",))) for fine in fines if fine.reference not in recorded
    ]
    married = {frozenset(fact.spouses) for fact in truth.facts.marriages}
    for one, other in marriages:
        if frozenset((one.handle, other.handle)) not in married and one.married_on is not None:
            truth.facts.marriages.append(MarriageFact(spouses=(one.handle, other.handle), registered_on=one.married_on))


def _treatments(residents: list[Resident]) -> dict[str, Treatment]:
    """What a doctor prescribes each patient: the formulary's treatment of her (first) condition."""
    return {resident.handle: treatment_for(resident.conditions[0]) for resident in residents if resident.conditions}


def _intake_calls(people: list[Persona], fines: list[CameraFine], marriages: list[tuple[Resident, Resident]]) -> int:
    return len(people) + sum(1 for person in people if person.plate) + len(fines) + len(marriages)
