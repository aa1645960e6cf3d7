from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kernel.bounds import Reference
from kernel.dependencies import SessionDep
from kernel.signed import InvalidStatement, StatementVerifier
from kernel.tokens import caller_with
from services.prescriptions import domain
from services.prescriptions.delivery import DeliveryDesk
from services.prescriptions.demo import demo_draft
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
from services.prescriptions.stores import PrescriptionStore

router = APIRouter(tags=["prescriptions"])


def utc_now() -> datetime:
    return datetime.now(UTC)


def regime_store(request: Request) -> PrescriptionStore:
    return request.app.state.policy.store


def regime_delivery(request: Request) -> DeliveryDesk:
    return request.app.state.policy.delivery


Now = Annotated[datetime, Depends(utc_now)]
StoreDep = Annotated[PrescriptionStore, Depends(regime_store)]
DeliveryDep = Annotated[DeliveryDesk, Depends(regime_delivery)]


@router.get("/citizens/{subject}/prescriptions", summary="A patient's prescriptions, oldest first")
def list_prescriptions(
    subject: Reference,
    session: SessionDep,
    store: StoreDep,
    caller: caller_with("prescriptions:read"),
) -> list[PrescriptionPublic]:
    return domain.prescriptions_of(session, store, subject)


@router.post(
    "/prescriptions",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a prescription (an online consultation); its contents go where the regime keeps them",
)
def issue_prescription(
    body: PrescriptionCreate,
    session: SessionDep,
    store: StoreDep,
    now: Now,
    caller: caller_with("prescriptions:issue"),
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
)
def online_consultation(
    body: OnlineConsultation,
    session: SessionDep,
    store: StoreDep,
    now: Now,
    caller: caller_with("prescriptions:issue"),
) -> PrescriptionPublic:
    # What the online doctor prescribes is the hospital's decision (the demo's), never the caller's.
    draft = demo_draft(body.patient).model_copy(update={"pod": body.pod})
    return domain.issue(session, store, draft, now=now)


@router.get("/prescriptions/{prescription_id}", summary="One prescription")
def get_prescription(
    prescription_id: Reference,
    session: SessionDep,
    store: StoreDep,
    caller: caller_with("prescriptions:read"),
) -> PrescriptionPublic:
    return domain.prescription(session, store, prescription_id)


@router.post(
    "/prescriptions/{prescription_id}/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay a prescription with the wallet's signed confirmation",
    responses={200: {"model": Receipt, "description": "The same payment again: its receipt, nothing charged"}},
)
async def pay_prescription(
    prescription_id: Reference,
    body: PaymentCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    now: Now,
    caller: caller_with("prescriptions:pay"),
    idempotency_key: Annotated[str | None, Header(description="Names this payment; retries reuse it.")] = None,
) -> Receipt:
    key = domain.checked_idempotency_key(idempotency_key)
    verifier: StatementVerifier = request.app.state.payment_verifier
    try:
        claims = await verifier.verify(body.confirmation)
    except InvalidStatement as error:
        raise domain.InvalidConfirmation(str(error)) from error
    receipt, created = await run_in_threadpool(
        domain.pay,
        session,
        prescription_id,
        claims,
        idempotency_key=key,
        confirmation=body.confirmation,
        now=now,
        payer_rule=request.app.state.policy.payer_rule,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return receipt


@router.post(
    "/prescriptions/{prescription_id}/dispensations",
    status_code=status.HTTP_201_CREATED,
    summary="A pharmacy dispenses a paid prescription (once)",
)
def dispense_prescription(
    prescription_id: Reference,
    body: DispensationCreate,
    session: SessionDep,
    store: StoreDep,
    now: Now,
    caller: caller_with("prescriptions:dispense"),
) -> DispensationPublic:
    return domain.dispense(session, store, prescription_id, body, now=now)


@router.post(
    "/prescriptions/{prescription_id}/delivery",
    status_code=status.HTTP_201_CREATED,
    summary="Order a courier for a dispensed prescription: the order holds only a parcel id and the address",
)
def order_delivery(
    prescription_id: Reference,
    body: DeliveryOrderCreate,
    session: SessionDep,
    desk: DeliveryDep,
    caller: caller_with("prescriptions:deliver"),
) -> DeliveryOrderPublic:
    return domain.order_delivery(session, desk, prescription_id, body)
