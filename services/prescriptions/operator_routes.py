"""The hospital's doctors: a doctor at the hospital issues a prescription for a patient whose ID card
they have seen (``POST /hospital/prescriptions``).

Its own operators only (``kernel.operators``: ``Authorization: Operator <secret>``), never a service or
a citizen. The same prescription again under the hospital's reference answers 200 and issues nothing,
so a population can be put in again after an interruption.

It is issued exactly as an online consultation issues one (``domain.issue``): the hospital learns the
subject the health sector knows the patient by (the resident ID on the platform, the health sector's
pseudonym in the rights regime) as the demo seed does, and keeps the contents where the regime's store
keeps them — its own database on the platform; in the rights regime the patient's pod (``pod``: the
storage URL her app shows), under the hospital's legal basis, with her consent asked for the pharmacy.
The regime's store makes the difference: this route has none.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from kernel.dependencies import NowDep, ServicesDep, SessionDep
from kernel.operators import Operator
from kernel.problems import ResidentNotEnrolled, UpstreamTimeout, UpstreamUnreachable, with_problems
from services.prescriptions import domain
from services.prescriptions.dependencies import HospitalDeskDep, StoreDep
from services.prescriptions.errors import ISSUING_PROBLEMS, PrescriptionReferenceConflict
from services.prescriptions.models import HospitalPrescriptionCreate, IssuedPrescription

router = APIRouter(tags=["operators"])


@router.post(
    "/hospital/prescriptions",
    status_code=status.HTTP_201_CREATED,
    summary="A doctor at the hospital issues a prescription (the same one again under its reference: 200)",
    responses={
        **with_problems(
            ISSUING_PROBLEMS, PrescriptionReferenceConflict, ResidentNotEnrolled, UpstreamUnreachable, UpstreamTimeout
        ),
        200: {"model": IssuedPrescription, "description": "Issued before under this reference: nothing issued again"},
    },
)
async def prescribe(
    body: HospitalPrescriptionCreate,
    response: Response,
    session: SessionDep,
    store: StoreDep,
    services: ServicesDep,
    desk: HospitalDeskDep,
    now: NowDep,
    operator: Operator,
) -> IssuedPrescription:
    patient = await services.enrolled_subject(body.patient_resident_id)
    # queued in this process first (on the event loop), then in the thread pool under the database's lock
    async with desk.turn(body.reference):
        issued, created = await run_in_threadpool(
            domain.issue_once, session, store, body.draft(patient), reference=body.reference, now=now
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return IssuedPrescription.model_validate(issued.model_dump() | {"reference": body.reference})
