"""Journey 1, pay a traffic fine: the super-app's routes (docs/journeys.md).

Paying is the wallet's (``/wallet/payments`` with payee ``fines``). Looking fines up is the
regime's: on the platform the gateway asks the traffic police for the session's resident ID; in the
rights regime this route answers 403 ``blind-courier-only`` and the citizen's app asks through the
courier (``GET /me/fines`` in a sealed envelope).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter

from kernel.bounds import RowId
from kernel.problems import problem_responses
from superapp_gateway.auth import CITIZEN_PROBLEMS, CurrentSession
from superapp_gateway.departments import DEPARTMENT_PROBLEMS
from superapp_gateway.dependencies import DepartmentsDep, HistoryDep, PolicyDep
from superapp_gateway.errors import BlindCourierOnly, FineNotFound

router = APIRouter(tags=["city services: traffic fines"])
DEPARTMENT = "fines"
JOURNEY = "fines"


def _fines_of(subject: str) -> str:
    """The traffic police's list of the fines of the citizen it knows as ``subject``."""
    return f"/citizens/{quote(subject, safe='')}/fines"


@router.get(
    "/city-services/fines",
    summary="My traffic fines (the super-app asks the traffic police for me)",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, *DEPARTMENT_PROBLEMS),
)
async def my_fines(
    citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> list[dict[str, Any]]:
    fines: list[dict[str, Any]] = await policy.departments.read(departments, DEPARTMENT, _fines_of(citizen.subject))
    await history.record(citizen.subject, JOURNEY, "looked up my fines", fines)
    return fines


@router.get(
    "/city-services/fines/{fine_id}/receipt",
    summary="The receipt of one of my paid fines",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, FineNotFound, *DEPARTMENT_PROBLEMS),
)
async def my_fine_receipt(
    fine_id: RowId, citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> dict[str, Any]:
    fines = await policy.departments.read(departments, DEPARTMENT, _fines_of(citizen.subject))
    if not any(fine.get("id") == fine_id for fine in fines):
        raise FineNotFound(fine_id)
    receipt: dict[str, Any] = await policy.departments.read(departments, DEPARTMENT, f"/fines/{fine_id}/receipt")
    await history.record(citizen.subject, JOURNEY, "fetched a receipt", receipt)
    return receipt
