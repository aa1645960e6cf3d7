"""A service's background duty: one asyncio task that runs a pass at start, then every interval
and whenever woken, until stopped. Subclasses say what a pass does (``pass_once``) and how long to
wait between passes (``interval_seconds``, read before each wait, so settings may change it).

Of several replicas, only the one holding the duty's lease runs its passes (kernel/leases.py); it
renews the lease at every pass, for longer than the interval, and gives it back when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kernel.leases import Lease, OwnLease

log = logging.getLogger("citygate.periodic")

# A held lease outlives the wait between passes by this much at least: a holder renews it in time
# even when a pass is slow, and one that died is replaced that long after its last pass.
LEASE_MARGIN_SECONDS = 10.0


class PeriodicTask:
    name = "periodic"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lease: Lease = OwnLease()
        self.passes = 0

    @property
    def interval_seconds(self) -> float:
        raise NotImplementedError

    async def pass_once(self) -> Any:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, lease: Lease | None = None) -> None:
        """Start the task; again after ``stop`` too (an app started a second time starts its duty again).
        ``lease``: the duty's among the service's replicas (kernel/leases.py); none, the process's own."""
        if self._task is None:
            self._lease = lease or OwnLease()
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> Any:
        """One pass, never two at once (a wake during a pass runs another after it)."""
        async with self._lock:
            result = await self.pass_once()
            self.passes += 1
            return result

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                if await self._lease.hold(2 * self.interval_seconds + LEASE_MARGIN_SECONDS):
                    await self.run_once()
            except Exception:
                log.exception("a %s pass failed; trying again at the next one", self.name)
            if self._stopping:
                # stop() cancelled us during the pass, but something in it (a library's thread or
                # task-group hand-off) swallowed the cancellation: without this we would sleep out
                # the whole interval before noticing
                return
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that arrives as the wait ends, and the task would never stop
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_seconds):
                    await self._wake.wait()

    async def stop(self) -> None:
        """Cancel the task and wait for it: a database call in a worker thread finishes first
        (anyio does not abandon threads), so nothing is cut off mid-transaction."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._lease.release()
