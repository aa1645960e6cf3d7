"""``POST /demo/reset``: a demo deployment gives its demo personas their seeded state back, so a workshop
can replay the same journeys for group after group without restarting anything (``citygate reset``).

Each service's reset lives next to its demo seed (``<service>/demo.py``: ``reset_demo``) and does, in
ONE transaction, what the simplest correct replay needs: the personas' rows that journeys made are
removed, and the idempotent seed puts back what it seeds. Rows of anybody else (the population's
residents) are never touched. The route answers only in a deployment started with demo data
(``settings.demo``; otherwise 404, as if it did not exist) and only to the service's own operator
(``kernel.operators``: ``Authorization: Operator <secret>``).

A reset that must call other services first (to learn the subjects its sector knows the personas by)
does so before it opens its transaction; ``local_reset`` wraps one that only writes its own tables.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from kernel.database import Database
from kernel.operators import OperatorUnauthenticated, require_operator
from kernel.problems import NotFound, answers, problem_responses
from kernel.settings import ServiceSettings
from kernel.state import ServiceState, state_of

RESET_PATH = "/demo/reset"
# what a reset did, by kind of row: {"fines restored": 3, "payments removed": 2}
ResetSummary = Mapping[str, int]
DemoReset = Callable[[FastAPI], Awaitable[ResetSummary]]
LocalReset = Callable[[Session, Any], ResetSummary]


class DemoOnly(NotFound):
    """Reached in a deployment without demo data: there is nothing to reset, and no such route."""


@answers(DemoOnly)
async def require_demo(request: Request) -> None:
    """Listed before the operator check, so a deployment without demo data answers 404 to everybody."""
    if not state_of(request.app, ServiceState).settings.demo:
        raise DemoOnly("Not found: this deployment has no demo data.")


def local_reset(reset: LocalReset) -> DemoReset:
    """A reset that only writes the service's own tables: ``reset(session, settings)``, committed here
    as one transaction (it rolls back whole if it fails)."""

    async def run(app: FastAPI) -> ResetSummary:
        state = state_of(app, ServiceState)
        return await run_in_threadpool(_in_one_transaction, state.database, reset, state.settings)

    return run


def _in_one_transaction(database: Database, reset: LocalReset, settings: ServiceSettings) -> ResetSummary:
    with database.session() as session:
        summary = reset(session, settings)
        session.commit()
    return summary


@functools.cache
def demo_reset_router(reset: DemoReset) -> APIRouter:
    """The service's ``POST /demo/reset``, running ``reset`` (the service's ``demo.reset_demo``): one
    router per reset function, shared by every app built with it (FastAPI's route set-up is the
    costly part of building an app)."""
    router = APIRouter(tags=["demo"])

    @router.post(
        RESET_PATH,
        summary="Demo only: give the demo personas their seeded state back (one transaction)",
        dependencies=[Depends(require_demo), Depends(require_operator)],
        responses=problem_responses(DemoOnly, OperatorUnauthenticated),
    )
    async def reset_demo_state(request: Request) -> dict[str, Any]:
        state = state_of(request.app, ServiceState)
        summary = await reset(request.app)
        return {"service": state.settings.service_name, "regime": state.settings.regime.value, "reset": dict(summary)}

    return router
