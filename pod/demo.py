"""Replaying the demo (``POST /demo/reset``, kernel/demo_reset.py): the demo personas' pods gone, as before
their first journey. Nothing is seeded in a pod (the citizen's app creates hers when she first uses it),
so that is the seeded state.

The pod knows the personas only by its own pseudonyms; it learns them from the identity service
(``GET /demo/sector-subjects``: demo deployments only, the personas only). This is not an erasure the
citizen asked for, so the ledger is not told: the consent ledger's own reset forgets the personas.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from kernel.state import state_of
from pod.dependencies import PodState
from pod.rights import erase_pods


async def reset_demo(app: FastAPI) -> dict[str, int]:
    state = state_of(app, PodState)
    pod_ids = sorted((await state.services.demo_subjects()).values())
    pods, resources = await run_in_threadpool(erase_pods, state.database, *pod_ids) if pod_ids else (0, 0)
    return {"pods removed": pods, "resources removed": resources}
