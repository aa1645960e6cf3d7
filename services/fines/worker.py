"""The traffic police's background duty: sweep overdue fines, and drain the credit outbox.

One asyncio task per app, started by the app's ``on_startup`` hook and stopped by its lifespan
on shutdown (``services.fines.app``). It runs once at start (entries a previous process left
pending go out first), then every ``worker_interval_seconds`` and whenever ``wake()`` is called
(after a payment, after the demo seed), so a settlement reaches the credit platform at once
rather than at the next tick. A failing pass is logged and retried at the next one.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from kernel.periodic import PeriodicTask
from services.fines.credit_reporting import CreditReporting, DrainReport, drain_credit_outbox
from services.fines.domain import mark_overdue_fines

log = logging.getLogger("citygate.fines.worker")


class FinesWorker(PeriodicTask):
    name = "fines-worker"

    def __init__(self, app: FastAPI, *, interval_seconds: float) -> None:
        super().__init__()
        self.app = app
        self._interval_seconds = interval_seconds
        self.reporting: CreditReporting = app.state.policy.credit_reporting

    @property
    def interval_seconds(self) -> float:
        return self._interval_seconds

    async def pass_once(self) -> DrainReport | None:
        """One pass: the overdue sweep, then (if the regime reports) the outbox."""
        await run_in_threadpool(self._sweep)
        if not self.reporting.reports:
            return None
        return await drain_credit_outbox(self.app.state.database, self.app.state.services, clock=self.app.state.clock)

    def _sweep(self) -> None:
        with self.app.state.database.session() as session:
            marked = mark_overdue_fines(session, now=self.app.state.clock(), reporting=self.reporting)
        if marked:
            log.info("marked %d fine(s) overdue: %s", len(marked), [fine.id for fine in marked])
