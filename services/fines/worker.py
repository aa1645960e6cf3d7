"""The traffic police's background duty: sweep overdue fines, and drain the credit outbox.

One asyncio task per app, built with the app's state (``services.fines.dependencies``), started by
the app's ``on_startup`` hook and stopped on shutdown (``services.fines.app``). It runs once at start
(entries a previous process left pending go out first), then every ``worker_interval_seconds`` and
whenever ``wake()`` is called (after a payment, after the demo seed), so a settlement reaches the
credit platform at once rather than at the next tick. A failing pass is logged and retried at the
next one. Each pass reads the service's clock, policy and client from the state.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi.concurrency import run_in_threadpool

from kernel.periodic import PeriodicTask
from services.fines.credit_reporting import DrainReport, drain_credit_outbox
from services.fines.domain import mark_overdue_fines

if TYPE_CHECKING:  # the state holds the worker
    from services.fines.dependencies import FinesState

log = logging.getLogger("citygate.fines.worker")


class FinesWorker(PeriodicTask):
    name = "fines-worker"

    def __init__(self, state: FinesState) -> None:
        super().__init__()
        self.state = state

    @property
    def interval_seconds(self) -> float:
        return self.state.settings.worker_interval_seconds

    async def pass_once(self) -> DrainReport | None:
        """One pass: the overdue sweep, then (if the regime reports) the outbox."""
        await run_in_threadpool(self._sweep)
        if not self.state.policy.credit_reporting.reports:
            return None
        return await drain_credit_outbox(self.state.database, self.state.services, clock=self.state.clock)

    def _sweep(self) -> None:
        with self.state.database.session() as session:
            marked = mark_overdue_fines(session, now=self.state.clock(), reporting=self.state.policy.credit_reporting)
        if marked:
            log.info("marked %d fine(s) overdue: %s", len(marked), [fine.id for fine in marked])
