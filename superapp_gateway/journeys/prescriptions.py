"""Journey 3, get a prescription: the super-app's routes (docs/journeys.md).

On the platform the super-app is the citizen's agent at the hospital and pharmacy: it books an
online consultation (the hospital's online doctor prescribes for the session's resident ID,
``POST /consultations``), orders the dispensing from the pharmacy and the courier, and
keeps every step — medication and diagnosis included — in its history. Paying is the wallet's
(``/wallet/payments`` with payee ``prescriptions``).

In the rights regime these routes answer 403 ``blind-courier-only``: the citizen's app asks the
hospital itself, through the courier (``POST /me/consultations``, ``POST /me/prescriptions/{id}/…``
in sealed envelopes), so the super-app never sees what was prescribed, nor why.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from kernel.bounds import Reference
from kernel.problems import problem_responses
from superapp_gateway.auth import CITIZEN_PROBLEMS, CurrentSession
from superapp_gateway.departments import DEPARTMENT_PROBLEMS, DepartmentAccess, DepartmentClient
from superapp_gateway.dependencies import DepartmentsDep, HistoryDep, JourneyHistory, PolicyDep
from superapp_gateway.errors import BlindCourierOnly, PrescriptionNotFound
from superapp_gateway.policy import GatewayPolicy

router = APIRouter(tags=["city services: prescriptions"])
DEPARTMENT = "prescriptions"
JOURNEY = "prescriptions"
DEFAULT_PHARMACY = "Liwan Dashenlin Pharmacy"
PROBLEMS = (*CITIZEN_PROBLEMS, BlindCourierOnly, *DEPARTMENT_PROBLEMS)


class DispensationOrder(BaseModel):
    pharmacy: str = Field(default=DEFAULT_PHARMACY, min_length=1, max_length=200)


class DeliveryOrder(BaseModel):
    address: str = Field(min_length=1, max_length=500, description="Where the courier brings the parcel.")


def _path(prescription_id: str, tail: str = "") -> str:
    return f"/prescriptions/{quote(prescription_id, safe='')}{tail}"


def _prescriptions_of(subject: str) -> str:
    """The hospital's list of the prescriptions of the patient it knows as ``subject``."""
    return f"/citizens/{quote(subject, safe='')}/prescriptions"


async def _own_prescription(
    access: DepartmentAccess, departments: DepartmentClient, subject: str, prescription_id: str
) -> dict[str, Any]:
    """The prescription, if it is the session's citizen's; 404 as for an unknown one otherwise."""
    found = await access.act(departments, DEPARTMENT, "GET", _path(prescription_id))
    if not isinstance(found, dict) or found.get("patient") != subject:
        raise PrescriptionNotFound(prescription_id)
    return found


@router.post(
    "/city-services/prescriptions/consultations",
    status_code=status.HTTP_201_CREATED,
    summary="An online consultation: the doctor issues my prescription (the super-app asks the hospital)",
    responses=problem_responses(*PROBLEMS),
)
async def consultation(
    citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> dict[str, Any]:
    return await consult(citizen.subject, policy, departments, history)


@router.get(
    "/city-services/prescriptions",
    summary="My prescriptions (the super-app asks the hospital for me)",
    responses=problem_responses(*PROBLEMS),
)
async def my_prescriptions(
    citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep, history: HistoryDep
) -> list[dict[str, Any]]:
    return await look_up_prescriptions(citizen.subject, policy, departments, history)


@router.get(
    "/city-services/prescriptions/{prescription_id}",
    summary="One of my prescriptions",
    responses=problem_responses(*PROBLEMS, PrescriptionNotFound),
)
async def my_prescription(
    prescription_id: Reference, citizen: CurrentSession, policy: PolicyDep, departments: DepartmentsDep
) -> dict[str, Any]:
    return await _own_prescription(policy.departments, departments, citizen.subject, prescription_id)


@router.post(
    "/city-services/prescriptions/{prescription_id}/dispensation",
    status_code=status.HTTP_201_CREATED,
    summary="Have my paid prescription dispensed (the super-app orders from the pharmacy)",
    responses=problem_responses(*PROBLEMS, PrescriptionNotFound),
)
async def dispensation(
    prescription_id: Reference,
    citizen: CurrentSession,
    policy: PolicyDep,
    departments: DepartmentsDep,
    history: HistoryDep,
    body: DispensationOrder | None = None,
) -> dict[str, Any]:
    pharmacy = (body or DispensationOrder()).pharmacy
    return await dispense(citizen.subject, prescription_id, pharmacy, policy, departments, history)


@router.post(
    "/city-services/prescriptions/{prescription_id}/delivery",
    status_code=status.HTTP_201_CREATED,
    summary="Have my dispensed prescription delivered (the super-app orders the courier)",
    responses=problem_responses(*PROBLEMS, PrescriptionNotFound),
)
async def delivery(
    prescription_id: Reference,
    body: DeliveryOrder,
    citizen: CurrentSession,
    policy: PolicyDep,
    departments: DepartmentsDep,
    history: HistoryDep,
) -> dict[str, Any]:
    return await deliver(citizen.subject, prescription_id, body.address, policy, departments, history)


# The journey's logic, shared by these routes and the phone's pages (superapp_gateway/pages/).


async def consult(
    subject: str, policy: GatewayPolicy, departments: DepartmentClient, history: JourneyHistory
) -> dict[str, Any]:
    """An online consultation: the hospital's online doctor prescribes for the citizen (a new
    prescription each time); the platform keeps it whole."""
    # The hospital's online doctor decides what to prescribe; the super-app names the patient.
    issued: dict[str, Any] = await policy.departments.act(
        departments, DEPARTMENT, "POST", "/consultations", {"patient": subject}
    )
    await history.record(subject, JOURNEY, "online consultation: prescription issued", issued)
    return issued


async def look_up_prescriptions(
    subject: str, policy: GatewayPolicy, departments: DepartmentClient, history: JourneyHistory
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await policy.departments.read(departments, DEPARTMENT, _prescriptions_of(subject))
    await history.record(subject, JOURNEY, "looked up my prescriptions", found)
    return found


async def prescription_of(
    subject: str, prescription_id: str, policy: GatewayPolicy, departments: DepartmentClient
) -> dict[str, Any]:
    """One of the citizen's own prescriptions; another's is ``PrescriptionNotFound``."""
    return await _own_prescription(policy.departments, departments, subject, prescription_id)


async def dispense(
    subject: str,
    prescription_id: str,
    pharmacy: str,
    policy: GatewayPolicy,
    departments: DepartmentClient,
    history: JourneyHistory,
) -> dict[str, Any]:
    """Order the citizen's paid prescription from ``pharmacy``."""
    await _own_prescription(policy.departments, departments, subject, prescription_id)
    dispensed: dict[str, Any] = await policy.departments.act(
        departments, DEPARTMENT, "POST", _path(prescription_id, "/dispensations"), {"pharmacy": pharmacy}
    )
    await history.record(subject, JOURNEY, "dispensed by a pharmacy", dispensed)
    return dispensed


async def deliver(
    subject: str,
    prescription_id: str,
    address: str,
    policy: GatewayPolicy,
    departments: DepartmentClient,
    history: JourneyHistory,
) -> dict[str, Any]:
    """Order the courier to bring the citizen's dispensed prescription to ``address``."""
    await _own_prescription(policy.departments, departments, subject, prescription_id)
    ordered: dict[str, Any] = await policy.departments.act(
        departments, DEPARTMENT, "POST", _path(prescription_id, "/delivery"), {"address": address}
    )
    await history.record(subject, JOURNEY, "delivery ordered", {"prescription_id": prescription_id, **(ordered or {})})
    return ordered
