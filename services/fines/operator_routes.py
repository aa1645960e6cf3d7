"""The traffic police's own desks: the vehicle registry registers cars to their owners, the cameras
(and parking wardens) record fines against them.

Its own operators only (``kernel.operators``: ``Authorization: Operator <secret>``), never a service or
a citizen. Both answer 201 for a new record and 200 for the same record again (nothing changed), so a
population can be put in again after an interruption.

The registry learns the owner's identifier as its registration desk does: it shows identity the
resident ID from the owner's papers and keeps the subject its sector knows the owner by (the resident
ID itself on the platform, the transport sector's pseudonym in the rights regime), never the
resident ID it was shown (identity's policy makes the difference: this route has none).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from kernel.dependencies import NowDep, ServicesDep, SessionDep
from kernel.operators import Operator
from kernel.problems import ResidentNotEnrolled, UpstreamError, UpstreamTimeout, UpstreamUnreachable, problem_responses
from services.fines.dependencies import WorkerDep
from services.fines.domain import china_date, public_fine, record_fine, register_vehicle
from services.fines.errors import FineReferenceConflict, PlateRegisteredToAnother, VehicleNotRegistered
from services.fines.models import (
    FineRecord,
    FineStatus,
    RecordedFine,
    RegisteredVehicle,
    VehicleRegistration,
)

router = APIRouter(tags=["operators"])


@router.post(
    "/vehicles",
    status_code=status.HTTP_201_CREATED,
    summary="The vehicle registry registers a car to its owner (the same registration again: 200)",
    responses={
        **problem_responses(
            PlateRegisteredToAnother, ResidentNotEnrolled, UpstreamUnreachable, UpstreamTimeout, UpstreamError
        ),
        200: {"model": RegisteredVehicle, "description": "Registered to this owner before: nothing changed"},
    },
)
async def register(
    body: VehicleRegistration, response: Response, session: SessionDep, services: ServicesDep, operator: Operator
) -> RegisteredVehicle:
    owner = await services.enrolled_subject(body.owner_resident_id)
    vehicle, created = await run_in_threadpool(register_vehicle, session, body.plate, owner)
    if not created:
        response.status_code = status.HTTP_200_OK
    return RegisteredVehicle(plate=vehicle.plate, owner_ref=vehicle.owner_ref)


@router.post(
    "/fines",
    status_code=status.HTTP_201_CREATED,
    summary="A camera (or a parking warden) records a fine against a registered car (the same record again: 200)",
    responses={
        **problem_responses(VehicleNotRegistered, FineReferenceConflict),
        200: {"model": RecordedFine, "description": "This reference was recorded before, with these details"},
    },
)
async def record(
    body: FineRecord, response: Response, session: SessionDep, now: NowDep, worker: WorkerDep, operator: Operator
) -> RecordedFine:
    fine, created = await run_in_threadpool(record_fine, session, body.draft(), reference=body.reference)
    shown = public_fine(fine, china_date(now))
    if not created:
        response.status_code = status.HTTP_200_OK
    elif shown.status is FineStatus.OVERDUE:
        # due already: the sweep marks it (and on the platform reports it) now, not at the next tick;
        # woken on the event loop, hence an async route with the domain in the thread pool
        worker.wake()
    return RecordedFine.model_validate(shown, update={"reference": body.reference})
