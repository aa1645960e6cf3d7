"""The citizen's own API: their prescriptions, with the token their app holds for the hospital
(``kernel.citizens``), reached directly or through the super-app's blind courier (``kernel.courier``).

The patient is the token's ``sub``: the subject the health sector knows them by. Ownership is
checked on the department's process record BEFORE the contents are read, so asking for someone
else's prescription never touches their pod (rights regime); it is "not found", as an unknown one is.
"""

from __future__ import annotations

from fastapi import APIRouter

from kernel.citizens import CurrentCitizen
from kernel.database import SessionDep
from services.prescriptions import domain
from services.prescriptions.models import Prescription, PrescriptionPublic
from services.prescriptions.routes import StoreDep

router = APIRouter(prefix="/me", tags=["the citizen's own"])


@router.get("/prescriptions", summary="My prescriptions, oldest first")
def my_prescriptions(citizen: CurrentCitizen, session: SessionDep, store: StoreDep) -> list[PrescriptionPublic]:
    return domain.prescriptions_of(session, store, citizen.subject)


@router.get("/prescriptions/{prescription_id}", summary="One of my prescriptions")
def my_prescription(prescription_id: str, citizen: CurrentCitizen, session: SessionDep,
                    store: StoreDep) -> PrescriptionPublic:
    record = session.get(Prescription, prescription_id)
    if record is None or record.patient != citizen.subject:
        raise domain.PrescriptionNotFound(prescription_id)
    return domain.prescription(session, store, prescription_id)
