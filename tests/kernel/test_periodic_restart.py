"""A service's background duty runs again when its app is started a second time (the same object)."""

from __future__ import annotations

import asyncio

from kernel.periodic import PeriodicTask


class Counting(PeriodicTask):
    name = "counting"

    @property
    def interval_seconds(self) -> float:
        return 60.0

    async def pass_once(self) -> None:
        return None


async def test_a_stopped_task_runs_its_passes_again_once_started_again() -> None:
    task = Counting()
    task.start()
    await asyncio.sleep(0.05)
    await task.stop()
    passes = task.passes
    assert passes >= 1 and not task.running
    task.start()
    await asyncio.sleep(0.05)
    assert task.running and task.passes > passes
    await task.stop()
