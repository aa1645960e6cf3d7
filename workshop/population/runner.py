"""Running a population through one regime's deployment: the facts put in by their owners
(``workshop.population.intake``), then every household's journeys over HTTP through the gateway,
exactly as ``citygate walkthrough`` tells them (``workshop.population.journeys``), households side by
side, each household's journeys one after another.

Each finished journey is recorded (outcome, steps, prompts, time) and handed to ``on_journey``; a
journey already recorded as succeeded or refused in an earlier run is not run again, so a run can be
interrupted and started again: it completes, never duplicates.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from kernel.operators import operator_secret
from kernel.personas import Persona
from kernel.regime import Regime
from workshop.journeys.cast import Cast
from workshop.narration import Narrator, Tally
from workshop.population.conditions import Treatment
from workshop.population.facts import JourneyRecord, PrescriptionFact
from workshop.population.journeys import outcome_of, steps, variant_of
from workshop.population.plan import Household, Planned

CONCURRENT_HOUSEHOLDS = 8
FINAL = ("succeeded", "refused")  # outcomes not run again


@dataclass(frozen=True)
class Deployment:
    """Where one regime's services answer, and where their operators keep their secrets."""

    regime: Regime
    urls: dict[str, str]
    keys_dirs: dict[str, Path]
    transport: httpx.AsyncBaseTransport | None = None


@dataclass(frozen=True)
class Finished:
    """A journey as the ground truth records it, and the prescription it issued (if any)."""

    record: JourneyRecord
    prescription: PrescriptionFact | None = None


@dataclass
class RegimeRun:
    regime: Regime
    records: list[JourneyRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def journeys_per_second(self) -> float:
        return len(self.records) / self.seconds if self.seconds else 0.0


async def run_households(
    deployment: Deployment,
    households: list[Household],
    people: dict[str, Persona],
    *,
    done: set[tuple[str, str, str]],
    on_journey: Callable[[Finished], None],
    treatments: dict[str, Treatment] | None = None,
    concurrency: int = CONCURRENT_HOUSEHOLDS,
) -> RegimeRun:
    """Every planned journey not in ``done`` ((regime, journey, citizen) keys of earlier runs)."""
    run = RegimeRun(deployment.regime)
    gate = asyncio.Semaphore(concurrency)
    phones: dict[str, dict[str, str]] = {}  # each resident's app keeps its tokens between journeys
    hospital = {"prescriptions": operator_secret(deployment.keys_dirs["prescriptions"])}
    regime = deployment.regime.value

    async def household(planned: Household) -> None:
        async with gate:
            for journey in planned.journeys:
                if (regime, journey.journey, journey.citizen) in done:
                    continue
                phone = phones.setdefault(journey.citizen, {})
                treatment = (treatments or {}).get(journey.citizen)
                finished = await _one_journey(deployment, journey, people, phone, hospital, treatment)
                run.records.append(finished.record)
                on_journey(finished)

    started = time.perf_counter()
    await asyncio.gather(*(household(planned) for planned in households))
    run.seconds = time.perf_counter() - started
    return run


async def _one_journey(
    deployment: Deployment,
    planned: Planned,
    people: dict[str, Persona],
    phone: dict[str, str],
    operator_secrets: dict[str, str],
    treatment: Treatment | None,
) -> Finished:
    cast = Cast(people[planned.citizen], people[planned.partner] if planned.partner else None)
    told = io.StringIO()  # the narration, kept only for a failure's reason
    narrator = Narrator(out=told)
    async with httpx.AsyncClient(
        base_url=deployment.urls["gateway"], timeout=30, transport=deployment.transport
    ) as browser:
        state: dict[str, Any] = {
            "browser": browser,
            "urls": deployment.urls,
            "tokens": phone,
            "transport": deployment.transport,
            "operator_secrets": operator_secrets,
        }
        try:
            journey = steps(planned.journey, deployment.regime, cast, treatment)
            await narrator.run(journey, state, label=planned.journey)
        except Exception as error:  # the narrator catches a step's errors; this is the journey's own set-up
            narrator.tallies.append(Tally(planned.journey, 0, 0, 0.0, succeeded=False))
            told.write(f"\n      {type(error).__name__}: {error}")
    tally = narrator.tallies[-1]
    failure = None if tally.succeeded else _last_reason(told.getvalue())
    record = JourneyRecord(
        regime=deployment.regime,
        resident=planned.citizen,
        partner=planned.partner,
        journey=planned.journey,
        variant=variant_of(planned.journey, deployment.regime),
        outcome=outcome_of(failure),
        detail=(failure or "")[:2000],
        steps=tally.steps,
        prompts=tally.prompts,
        milliseconds=round(tally.milliseconds, 1),
        finished_at=datetime.now(UTC),
    )
    rx = state.get("rx")
    issued = (
        PrescriptionFact(
            resident=planned.citizen, diagnosis=str(rx["diagnosis_code"]), medication=str(rx["medication"])
        )
        if isinstance(rx, dict) and "medication" in rx and "diagnosis_code" in rx
        else None
    )
    return Finished(record, issued)


def _last_reason(narration: str) -> str:
    """The line the narrator printed under the failing step (its problem's detail)."""
    lines = [line.strip() for line in narration.splitlines() if line.startswith("      ")]
    return (lines[-1] if lines else narration.strip().splitlines()[-1] if narration.strip() else "failed")[:500]
