"""The hospital and pharmacy's service-to-service API: the super-app (and the hospital's own
software) issue, read, pay, dispense and deliver prescriptions."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kernel.bounds import Reference
from kernel.dependencies import IdempotencyKeyDep, NowDep, SessionDep
from kernel.payment_confirmations import InvalidPaymentConfirmation
from kernel.problems import (
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    problem_responses,
)
from services.prescriptions import domain, payments
from services.prescriptions.auth import (
    PrescriptionsDeliverer,
    PrescriptionsDispenser,
    PrescriptionsIssuer,
    PrescriptionsPayer,
    PrescriptionsReader,
)
from services.prescriptions.demo import demo_draft
from services.prescriptions.dependencies import DeliveryDep, PaymentVerifierDep, PolicyDep, StoreDep
from services.prescriptions.errors import (
    DELIVERY_PROBLEMS,
    DISPENSING_PROBLEMS,
    ISSUING_PROBLEMS,
    LISTING_PROBLEMS,
    READING_PROBLEMS,
    AlreadyPaid,
    ConfirmationMismatch,
    PayerNotPatient,
    PrescriptionNotFound,
)
from services.prescriptions.models import (
    DeliveryOrderCreate,
    DeliveryOrderPublic,
    DispensationCreate,
    DispensationPublic,
    PaymentCreate,
    PrescriptionCreate,
    PrescriptionPublic,
    Receipt,
)

router = APIRouter(tags=["prescriptions"])


@router.get(
    "/citizens/{subject}/prescriptions", summary="A patient's prescriptions, oldest first", responses=LISTING_PROBLEMS
)
def list_prescriptions(
    subject: Reference, session: SessionDep, store: StoreDep, caller: PrescriptionsReader
) -> list[PrescriptionPublic]:
    return domain.prescriptions_of(session, store, subject)


@router.post(
    "/prescriptions",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a prescription (an online consultation); its contents go where the regime keeps them",
    responses=ISSUING_PROBLEMS,
)
def issue_prescription(
    body: PrescriptionCreate, session: SessionDep, store: StoreDep, now: NowDep, caller: PrescriptionsIssuer
) -> PrescriptionPublic:
    return domain.issue(session, store, body, now=now)


class OnlineConsultation(BaseModel):
    patient: str = Field(
        min_length=1, max_length=200, description="The subject the health sector knows the patient by."
    )
    pod: str | None = Field(default=None, max_length=500, description="Rights regime: the patient's pod.")


@router.post(
    "/consultations",
    status_code=status.HTTP_201_CREATED,
    summary="An online consultation booked in the super-app: the hospital's online doctor prescribes",
    responses=ISSUING_PROBLEMS,
)
def online_consultation(
    body: OnlineConsultation, session: SessionDep, store: StoreDep, now: NowDep, caller: PrescriptionsIssuer
) -> PrescriptionPublic:
    # What the online doctor prescribes is the hospital's decision (the demo's), never the caller's.
    draft = demo_draft(body.patient).model_copy(update={"pod": body.pod})
    return domain.issue(session, store, draft, now=now)


@router.get("/prescriptions/{prescription_id}", summary="One prescription", responses=READING_PROBLEMS)
def get_prescription(
    prescription_id: Reference, session: SessionDep, store: StoreDep, caller: PrescriptionsReader
) -> PrescriptionPublic:
    return domain.prescription(session, store, prescription_id)


@router.post(
    "/prescriptions/{prescription_id}/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay a prescription with the wallet's signed confirmation",
    responses={
        **problem_responses(
            IdempotencyKeyMissing,
            InvalidIdempotencyKey,
            InvalidPaymentConfirmation,
            ConfirmationMismatch,
            PrescriptionNotFound,
            PayerNotPatient,
            IdempotencyKeyReused,
            AlreadyPaid,
        ),
        200: {"model": Receipt, "description": "The same payment again: its receipt, nothing charged"},
    },
)
async def pay_prescription(
    prescription_id: Reference,
    body: PaymentCreate,
    response: Response,
    session: SessionDep,
    now: NowDep,
    policy: PolicyDep,
    verifier: PaymentVerifierDep,
    caller: PrescriptionsPayer,
    idempotency_key: IdempotencyKeyDep,
) -> Receipt:
    confirmation = await verifier.verify(body.confirmation)
    receipt, created = await run_in_threadpool(
        payments.pay,
        session,
        prescription_id,
        confirmation,
        idempotency_key=idempotency_key,
        now=now,
        payer_rule=policy.payer_rule,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return receipt


@router.post(
    "/prescriptions/{prescription_id}/dispensations",
    status_code=status.HTTP_201_CREATED,
    summary="A pharmacy dispenses a paid prescription (once)",
    responses=DISPENSING_PROBLEMS,
)
def dispense_prescription(
    prescription_id: Reference,
    body: DispensationCreate,
    session: SessionDep,
    store: StoreDep,
    now: NowDep,
    caller: PrescriptionsDispenser,
) -> DispensationPublic:
    return domain.dispense(session, store, prescription_id, body, now=now)


@router.post(
    "/prescriptions/{prescription_id}/delivery",
    status_code=status.HTTP_201_CREATED,
    summary="Order a courier for a dispensed prescription: the order holds only a parcel id and the address",
    responses=DELIVERY_PROBLEMS,
)
def order_delivery(
    prescription_id: Reference,
    body: DeliveryOrderCreate,
    session: SessionDep,
    desk: DeliveryDep,
    caller: PrescriptionsDeliverer,
) -> DeliveryOrderPublic:
    return domain.order_delivery(session, desk, prescription_id, body)
