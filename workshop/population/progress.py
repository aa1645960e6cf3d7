"""What a population run shows while it works and when it ends: a progress bar per regime with
journeys done, errors and journeys per second (rich), then a table per regime and journey.
``Silent`` shows nothing (tests, and ``citygate up``'s background run writes its own lines)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from workshop.population.facts import JourneyRecord
from workshop.population.runner import RegimeRun


class Reporter(Protocol):
    def stage(self, regime: str, what: str, total: int) -> None: ...
    def advance(self, regime: str, record: JourneyRecord | None = None) -> None: ...
    def close(self) -> None: ...


class Silent:
    def stage(self, regime: str, what: str, total: int) -> None:
        return None

    def advance(self, regime: str, record: JourneyRecord | None = None) -> None:
        return None

    def close(self) -> None:
        return None


class Bars:
    """One bar per regime and stage ("facts", "journeys"): done/total, errors, journeys/s."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("errors {task.fields[errors]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.tasks: dict[str, TaskID] = {}
        self.errors: Counter[str] = Counter()
        self.started: dict[str, float] = {}
        self.done: Counter[str] = Counter()
        self.progress.start()

    def stage(self, regime: str, what: str, total: int) -> None:
        self.tasks[regime] = self.progress.add_task(f"{regime}: {what}", total=total, errors=0, rate="")
        self.started[regime], self.done[regime], self.errors[regime] = time.perf_counter(), 0, 0

    def advance(self, regime: str, record: JourneyRecord | None = None) -> None:
        self.done[regime] += 1
        if record is not None and record.outcome == "failed":
            self.errors[regime] += 1
        elapsed = time.perf_counter() - self.started[regime]
        rate = f"{self.done[regime] / elapsed:.1f}/s" if record is not None and elapsed > 0 else ""
        self.progress.update(self.tasks[regime], advance=1, errors=self.errors[regime], rate=rate)

    def close(self) -> None:
        self.progress.stop()


def summary_table(runs: list[RegimeRun]) -> Table:
    """Per regime and journey: how many, their outcomes, the median and 95th-percentile time, and the
    throughput: journeys of that kind finished per second of the regime's run (households ran side by
    side, so a journey's share of the run, not its speed alone)."""
    table = Table(title="population run: journeys per regime")
    for column in ("regime", "journey", "run", "succeeded", "refused", "failed", "median ms", "p95 ms", "journeys/s"):
        table.add_column(column, justify="left" if column in ("regime", "journey") else "right")
    for run in runs:
        by_journey: dict[str, list[JourneyRecord]] = {}
        for record in run.records:
            by_journey.setdefault(record.journey, []).append(record)
        for journey, records in sorted(by_journey.items()):
            outcomes = Counter(record.outcome for record in records)
            times = sorted(record.milliseconds for record in records)
            table.add_row(
                run.regime.value,
                journey,
                str(len(records)),
                str(outcomes["succeeded"]),
                str(outcomes["refused"]),
                str(outcomes["failed"]),
                f"{times[len(times) // 2]:.0f}",
                f"{times[min(len(times) - 1, int(len(times) * 0.95))]:.0f}",
                f"{len(records) / run.seconds:.1f}" if run.seconds else "-",
            )
        table.add_row(
            run.regime.value,
            "all",
            str(len(run.records)),
            *("",) * 5,
            f"{run.journeys_per_second:.1f}",
            end_section=True,
        )
    return table
