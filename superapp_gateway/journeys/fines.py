"""Journey 1, pay a traffic fine: the super-app's routes (docs/journeys.md).

Paying is the wallet's (``/wallet/payments`` with payee ``fines``). Looking fines up is the
regime's: on the platform the gateway asks the traffic police for the session's resident ID; in the
rights regime this route answers 403 ``blind-courier-only`` and the citizen's app asks through the
courier (``GET /me/fines`` in a sealed envelope).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from kernel.bounds import RowId
from kernel.problems import Problem
from superapp_gateway.sessions import CurrentSession

router = APIRouter(tags=["city services: traffic fines"])


@router.get("/city-services/fines", summary="My traffic fines (the super-app asks the traffic police for me)")
async def my_fines(request: Request, citizen: CurrentSession) -> list[dict]:
    app = request.app
    fines = await app.state.policy.departments.read(app, citizen.subject, "fines", "/citizens/{subject}/fines")
    await run_in_threadpool(app.state.policy.history.record, app, citizen.subject, "fines", "looked up my fines", fines)
    return fines


@router.get("/city-services/fines/{fine_id}/receipt", summary="The receipt of one of my paid fines")
async def my_fine_receipt(fine_id: RowId, request: Request, citizen: CurrentSession) -> dict:
    app = request.app
    fines = await app.state.policy.departments.read(app, citizen.subject, "fines", "/citizens/{subject}/fines")
    if not any(fine.get("id") == fine_id for fine in fines):
        raise Problem(404, f"You have no fine {fine_id}.", kind="fine-not-found")
    receipt = await app.state.policy.departments.read(app, citizen.subject, "fines", f"/fines/{fine_id}/receipt")
    await run_in_threadpool(
        app.state.policy.history.record, app, citizen.subject, "fines", "fetched a receipt", receipt
    )
    return receipt
