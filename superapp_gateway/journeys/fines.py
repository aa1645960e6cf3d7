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
from superapp_gateway.departments import DEPARTMENT_PROBLEMS, DepartmentClient
from superapp_gateway.dependencies import DepartmentsDep, HistoryDep, JourneyHistory, PolicyDep
from superapp_gateway.errors import BlindCourierOnly, FineNotFound
from superapp_gateway.policy import GatewayPolicy

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
    return await look_up_fines(citizen.subject, policy, departments, history)


@router.get(
    "/city-services/fines/{fine_id}/receipt",
    summary="The receipt of one of my paid fines",
    responses=problem_responses(*CITIZEN_PROBLEMS, BlindCourierOnly, FineNotFound, *DEPARTMENT_PROBLEMS),
)
async def my_fine_receipt(
    fine_id: RowId, citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> dict[str, Any]:
    return await receipt_of(citizen.subject, fine_id, policy, departments, history)


# The journey's logic, shared by these routes and the phone's pages (superapp_gateway/pages/).


async def look_up_fines(
    subject: str, policy: GatewayPolicy, departments: DepartmentClient, history: JourneyHistory
) -> list[dict[str, Any]]:
    """The citizen's fines, asked of the traffic police (the regime may refuse: ``BlindCourierOnly``)."""
    fines: list[dict[str, Any]] = await policy.departments.read(departments, DEPARTMENT, _fines_of(subject))
    await history.record(subject, JOURNEY, "looked up my fines", fines)
    return fines


async def receipt_of(
    subject: str, fine_id: int, policy: GatewayPolicy, departments: DepartmentClient, history: JourneyHistory
) -> dict[str, Any]:
    """The receipt of one of the citizen's own fines (another's is ``FineNotFound``)."""
    return (await fine_and_receipt(subject, fine_id, policy, departments, history))[1]


async def fine_and_receipt(
    subject: str, fine_id: int, policy: GatewayPolicy, departments: DepartmentClient, history: JourneyHistory
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One of the citizen's own fines and its receipt (another's fine is ``FineNotFound``)."""
    fines = await policy.departments.read(departments, DEPARTMENT, _fines_of(subject))
    fine = next((fine for fine in fines if fine.get("id") == fine_id), None)
    if fine is None:
        raise FineNotFound(fine_id)
    receipt: dict[str, Any] = await policy.departments.read(departments, DEPARTMENT, f"/fines/{fine_id}/receipt")
    await history.record(subject, JOURNEY, "fetched a receipt", receipt)
    return fine, receipt
