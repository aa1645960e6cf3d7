"""What each journey cost the citizens in each regime, over the population run (the truth's ``journeys``).

Per journey and regime: runs, the share that succeeded, the median steps and prompts, and the latency
(the journey's measured milliseconds) at the 50th and 95th percentiles by the nearest-rank method over
every run, whatever its outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from workshop.report.truth import JourneyRun, Truth


@dataclass(frozen=True)
class JourneyCost:
    journey: str
    regime: str
    runs: int
    succeeded: int
    refused: int
    failed: int
    steps_median: float
    prompts_median: float
    latency_p50_ms: float
    latency_p95_ms: float

    @property
    def success_rate(self) -> float:
        return round(self.succeeded / self.runs, 4) if self.runs else 0.0


def journey_costs(truth: Truth, regimes: tuple[str, ...]) -> tuple[JourneyCost, ...]:
    groups: dict[tuple[str, str], list[JourneyRun]] = {}
    for run in truth.journeys:
        if run.regime in regimes:
            groups.setdefault((run.journey, run.regime), []).append(run)
    return tuple(_cost(journey, regime, runs) for (journey, regime), runs in sorted(groups.items()))


def nearest_rank(values: list[float], percentile: float) -> float:
    """The smallest value with at least ``percentile`` % of the values at or below it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(percentile / 100 * len(ordered)), 1) - 1]


def _cost(journey: str, regime: str, runs: list[JourneyRun]) -> JourneyCost:
    latencies = [run.milliseconds for run in runs]
    return JourneyCost(
        journey=journey,
        regime=regime,
        runs=len(runs),
        succeeded=sum(run.outcome == "succeeded" for run in runs),
        refused=sum(run.outcome == "refused" for run in runs),
        failed=sum(run.outcome not in ("succeeded", "refused") for run in runs),
        steps_median=float(median(run.steps for run in runs)),
        prompts_median=float(median(run.prompts for run in runs)),
        latency_p50_ms=round(nearest_rank(latencies, 50), 1),
        latency_p95_ms=round(nearest_rank(latencies, 95), 1),
    )
