"""The traffic police's background duty: sweep overdue fines, and drain the credit outbox.

One asyncio task per app, started by the app's ``on_startup`` hook and stopped by its lifespan
on shutdown (``services.fines.app``). It runs once at start (entries a previous process left
pending go out first), then every ``worker_interval_seconds`` and whenever ``wake()`` is called
(after a payment, after the demo seed), so a settlement reaches the credit platform at once
rather than at the next tick. A failing pass is logged and retried at the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from services.fines.credit_reporting import CreditReporting, DrainReport, drain_credit_outbox
from services.fines.domain import mark_overdue_fines

log = logging.getLogger("citygate.fines.worker")


class FinesWorker:
    def __init__(self, app: FastAPI, *, interval_seconds: float) -> None:
        self.app = app
        self.interval_seconds = interval_seconds
        self.reporting: CreditReporting = app.state.credit_reporting
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.passes = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="fines-worker")

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> DrainReport | None:
        """One pass: the overdue sweep, then (if the regime reports) the outbox. One pass at a time."""
        async with self._lock:
            await run_in_threadpool(self._sweep)
            report = None
            if self.reporting.reports:
                report = await drain_credit_outbox(
                    self.app.state.database, self.app.state.services, clock=self.app.state.clock,
                )
            self.passes += 1
            return report

    def _sweep(self) -> None:
        with self.app.state.database.session() as session:
            marked = mark_overdue_fines(session, now=self.app.state.clock(), reporting=self.reporting)
        if marked:
            log.info("marked %d fine(s) overdue: %s", len(marked), [fine.id for fine in marked])

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("a background pass failed; retrying at the next one")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that arrives as the wait ends, and the task would never stop
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_seconds):
                    await self._wake.wait()

    async def stop(self) -> None:
        """Cancel the task and wait for it: a database call in a worker thread finishes first
        (anyio does not abandon threads), so nothing is cut off mid-transaction."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
