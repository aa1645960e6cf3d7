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

from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kernel.bounds import Reference
from kernel.problems import Problem
from superapp_gateway.sessions import CurrentSession

router = APIRouter(tags=["city services: prescriptions"])
DEPARTMENT = "prescriptions"
JOURNEY = "prescriptions"
DEFAULT_PHARMACY = "Liwan Dashenlin Pharmacy"


class DispensationOrder(BaseModel):
    pharmacy: str = Field(default=DEFAULT_PHARMACY, min_length=1, max_length=200)


class DeliveryOrder(BaseModel):
    address: str = Field(min_length=1, max_length=500, description="Where the courier brings the parcel.")


def _path(prescription_id: str, tail: str = "") -> str:
    return f"/prescriptions/{quote(prescription_id, safe='')}{tail}"


async def _record(request: Request, subject: str, event: str, details: object) -> None:
    app = request.app
    await run_in_threadpool(app.state.policy.history.record, app, subject, JOURNEY, event, details)


async def _own_prescription(request: Request, subject: str, prescription_id: str) -> dict:
    """The prescription, if it is the session's citizen's; 404 as for an unknown one otherwise."""
    app = request.app
    found = await app.state.policy.departments.act(app, subject, DEPARTMENT, "GET", _path(prescription_id))
    if not isinstance(found, dict) or found.get("patient") != subject:
        raise Problem(404, f"You have no prescription {prescription_id!r}.", kind="prescription-not-found")
    return found


@router.post(
    "/city-services/prescriptions/consultations",
    status_code=status.HTTP_201_CREATED,
    summary="An online consultation: the doctor issues my prescription (the super-app asks the hospital)",
)
async def consultation(request: Request, citizen: CurrentSession) -> dict:
    app = request.app
    # The hospital's online doctor decides what to prescribe; the super-app names the patient.
    issued = await app.state.policy.departments.act(
        app, citizen.subject, DEPARTMENT, "POST", "/consultations", {"patient": "{subject}"}
    )
    await _record(request, citizen.subject, "online consultation: prescription issued", issued)
    return issued


@router.get("/city-services/prescriptions", summary="My prescriptions (the super-app asks the hospital for me)")
async def my_prescriptions(request: Request, citizen: CurrentSession) -> list[dict]:
    app = request.app
    found = await app.state.policy.departments.read(
        app, citizen.subject, DEPARTMENT, "/citizens/{subject}/prescriptions"
    )
    await _record(request, citizen.subject, "looked up my prescriptions", found)
    return found


@router.get("/city-services/prescriptions/{prescription_id}", summary="One of my prescriptions")
async def my_prescription(prescription_id: Reference, request: Request, citizen: CurrentSession) -> dict:
    return await _own_prescription(request, citizen.subject, prescription_id)


@router.post(
    "/city-services/prescriptions/{prescription_id}/dispensation",
    status_code=status.HTTP_201_CREATED,
    summary="Have my paid prescription dispensed (the super-app orders from the pharmacy)",
)
async def dispensation(
    prescription_id: Reference, request: Request, citizen: CurrentSession, body: DispensationOrder | None = None
) -> dict:
    app = request.app
    await _own_prescription(request, citizen.subject, prescription_id)
    order = body or DispensationOrder()
    dispensed = await app.state.policy.departments.act(
        app, citizen.subject, DEPARTMENT, "POST", _path(prescription_id, "/dispensations"), {"pharmacy": order.pharmacy}
    )
    await _record(request, citizen.subject, "dispensed by a pharmacy", dispensed)
    return dispensed


@router.post(
    "/city-services/prescriptions/{prescription_id}/delivery",
    status_code=status.HTTP_201_CREATED,
    summary="Have my dispensed prescription delivered (the super-app orders the courier)",
)
async def delivery(prescription_id: Reference, request: Request, citizen: CurrentSession, body: DeliveryOrder) -> dict:
    app = request.app
    await _own_prescription(request, citizen.subject, prescription_id)
    ordered = await app.state.policy.departments.act(
        app, citizen.subject, DEPARTMENT, "POST", _path(prescription_id, "/delivery"), {"address": body.address}
    )
    await _record(request, citizen.subject, "delivery ordered", {"prescription_id": prescription_id, **(ordered or {})})
    return ordered
