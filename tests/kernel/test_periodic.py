"""A service's background duty: it runs again when its app is started a second time (the same
object), and it stops when told even if a pass swallowed the cancellation."""

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


class SwallowingCancellation(PeriodicTask):
    """A pass whose library code turns a cancellation into a normal return (as one did in the
    fines worker's credit drain: the worker then slept out its 15 s interval before stopping)."""

    name = "swallowing"

    def __init__(self) -> None:
        super().__init__()
        self.in_pass = asyncio.Event()

    @property
    def interval_seconds(self) -> float:
        return 3600.0

    async def pass_once(self) -> None:
        self.in_pass.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return None


async def test_a_pass_that_swallows_the_cancellation_does_not_keep_the_task_for_an_interval() -> None:
    task = SwallowingCancellation()
    task.start()
    await task.in_pass.wait()
    # without the fix this waits out the hour-long interval, so the bound here is a hang detector
    stopping = asyncio.ensure_future(task.stop())
    done, _ = await asyncio.wait({stopping}, timeout=10)
    assert stopping in done, "stop() waited for the interval"
    assert not task.running and task.passes == 1
