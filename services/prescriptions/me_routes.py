"""The citizen's own API: their prescriptions, with the token their app holds for the hospital
(``kernel.citizens``), reached directly or through the super-app's blind courier (``kernel.courier``).

The patient is the token's ``sub``: the subject the health sector knows them by. Ownership is
checked on the department's process record BEFORE the contents are read, so asking for someone
else's prescription never touches their pod (rights regime); it is "not found", as an unknown one is.
Her own reads are hers (``Purpose.PATIENT_VIEW``): in the rights regime they rest on the hospital's
duty to show her her record, not on the consent she gives (or withdraws) for the pharmacy.

Besides reading, the patient's app can have an online consultation (``POST /me/consultations``: the
prescription is issued for the token's subject, into her pod in the rights regime), order the
dispensing and the courier itself — journey 3 in the rights regime, where the super-app only relays.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from kernel.bounds import Reference
from kernel.citizens import CitizenCaller, CurrentCitizen
from kernel.dependencies import NowDep, SessionDep
from services.prescriptions import domain
from services.prescriptions.delivery import DeliveryConsentRequested
from services.prescriptions.demo import demo_draft
from services.prescriptions.dependencies import DeliveryDep, StoreDep
from services.prescriptions.errors import (
    DELIVERY_CONSENT_PROBLEMS,
    DELIVERY_PROBLEMS,
    DISPENSING_PROBLEMS,
    ISSUING_PROBLEMS,
    LISTING_PROBLEMS,
    READING_PROBLEMS,
    PrescriptionNotFound,
)
from services.prescriptions.models import (
    DeliveryOrderCreate,
    DeliveryOrderPublic,
    DispensationCreate,
    DispensationPublic,
    Prescription,
    PrescriptionPublic,
)
from services.prescriptions.stores import Purpose

router = APIRouter(prefix="/me", tags=["the citizen's own"])


@router.get("/prescriptions", summary="My prescriptions, oldest first", responses=LISTING_PROBLEMS)
def my_prescriptions(citizen: CurrentCitizen, session: SessionDep, store: StoreDep) -> list[PrescriptionPublic]:
    return domain.prescriptions_of(session, store, citizen.subject, purpose=Purpose.PATIENT_VIEW)


@router.get("/prescriptions/{prescription_id}", summary="One of my prescriptions", responses=READING_PROBLEMS)
def my_prescription(
    prescription_id: Reference, citizen: CurrentCitizen, session: SessionDep, store: StoreDep
) -> PrescriptionPublic:
    _check_mine(session, citizen, prescription_id)
    return domain.prescription(session, store, prescription_id, purpose=Purpose.PATIENT_VIEW)


class ConsultationCreate(BaseModel):
    pod: str | None = Field(
        default=None,
        max_length=500,
        description=(
            "Rights regime: my pod (storage URL), where the hospital deposits the prescription. Ignored on the "
            "platform, which keeps it itself."
        ),
    )


@router.post(
    "/consultations",
    status_code=status.HTTP_201_CREATED,
    summary="An online consultation: the doctor issues my prescription (into my pod, rights regime)",
    responses=ISSUING_PROBLEMS,
)
def my_consultation(
    body: ConsultationCreate, citizen: CurrentCitizen, session: SessionDep, store: StoreDep, now: NowDep
) -> PrescriptionPublic:
    # The online doctor (the demo's) prescribes for the patient the token names.
    draft = demo_draft(citizen.subject).model_copy(update={"pod": body.pod})
    return domain.issue(session, store, draft, now=now)


@router.post(
    "/prescriptions/{prescription_id}/dispensation",
    status_code=status.HTTP_201_CREATED,
    summary="Order the dispensing of my paid prescription from a pharmacy",
    responses=DISPENSING_PROBLEMS,
)
def my_dispensation(
    prescription_id: Reference,
    body: DispensationCreate,
    citizen: CurrentCitizen,
    session: SessionDep,
    store: StoreDep,
    now: NowDep,
) -> DispensationPublic:
    _check_mine(session, citizen, prescription_id)
    return domain.dispense(session, store, prescription_id, body, now=now)


@router.post(
    "/prescriptions/{prescription_id}/delivery-consent",
    status_code=status.HTTP_201_CREATED,
    summary="Rights regime: have the pharmacy ask my consent to give my address to the parcel courier",
    responses=DELIVERY_CONSENT_PROBLEMS,
)
def my_delivery_consent(
    prescription_id: Reference, citizen: CurrentCitizen, session: SessionDep, desk: DeliveryDep
) -> DeliveryConsentRequested:
    _check_mine(session, citizen, prescription_id)
    return domain.request_delivery_consent(session, desk, prescription_id)


@router.post(
    "/prescriptions/{prescription_id}/delivery",
    status_code=status.HTTP_201_CREATED,
    summary="Order the courier for my dispensed prescription: parcel id and address only "
    "(rights regime: under my consent, logged)",
    responses=DELIVERY_PROBLEMS,
)
def my_delivery(
    prescription_id: Reference,
    body: DeliveryOrderCreate,
    citizen: CurrentCitizen,
    session: SessionDep,
    desk: DeliveryDep,
) -> DeliveryOrderPublic:
    _check_mine(session, citizen, prescription_id)
    return domain.order_delivery(session, desk, prescription_id, body)


def _check_mine(session: Session, citizen: CitizenCaller, prescription_id: str) -> None:
    """Someone else's prescription is as unknown as one that does not exist (checked before any pod read)."""
    record = session.get(Prescription, prescription_id)
    if record is None or record.patient != citizen.subject:
        raise PrescriptionNotFound(prescription_id)
