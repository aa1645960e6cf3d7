"""The traffic police's service-to-service API: the super-app reads a citizen's fines and pays them."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from kernel.bounds import Reference, RowId
from kernel.dependencies import IdempotencyKeyDep, NowDep, SessionDep, read_and_release
from kernel.payment_confirmations import InvalidPaymentConfirmation
from kernel.problems import IdempotencyKeyMissing, IdempotencyKeyReused, InvalidIdempotencyKey, problem_responses
from services.fines.auth import FinesPayer, FinesReader
from services.fines.dependencies import PaymentVerifierDep, PolicyDep, SettingsDep, WorkerDep
from services.fines.domain import china_date, citizens_fines, fines_for_vehicle, get_fine, public_fine
from services.fines.errors import (
    FineAlreadyPaid,
    FineNotFound,
    PayerNotOwner,
    PaymentConflict,
    PaymentMismatch,
    ReceiptNotFound,
    VehicleNotFound,
)
from services.fines.models import FinePublic, PaymentCreate, ReceiptPublic
from services.fines.payments import pay_fine, receipt_for

router = APIRouter(tags=["fines"])


@router.get(
    "/vehicles/{plate}/fines",
    summary="Fines recorded against a vehicle",
    responses=problem_responses(VehicleNotFound),
)
def list_vehicle_fines(plate: Reference, session: SessionDep, now: NowDep, caller: FinesReader) -> Sequence[FinePublic]:
    today = china_date(now)
    return [public_fine(fine, today) for fine in fines_for_vehicle(session, plate)]


@router.get("/citizens/{subject}/fines", summary="A citizen's fines across all their vehicles")
async def list_citizen_fines(
    subject: Reference, session: SessionDep, now: NowDep, caller: FinesReader
) -> Sequence[FinePublic]:
    today = china_date(now)  # the super-app's lookup on every journey: one thread hand-off, not three
    return await read_and_release(session, lambda: citizens_fines(session, subject, today))


@router.get("/fines/{fine_id}", summary="One fine", responses=problem_responses(FineNotFound))
def read_fine(fine_id: RowId, session: SessionDep, now: NowDep, caller: FinesReader) -> FinePublic:
    return public_fine(get_fine(session, fine_id), china_date(now))


@router.get(
    "/fines/{fine_id}/receipt",
    summary="The receipt of a paid fine",
    responses=problem_responses(FineNotFound, ReceiptNotFound),
)
def read_receipt(fine_id: RowId, session: SessionDep, caller: FinesReader) -> ReceiptPublic:
    return receipt_for(session, fine_id)


@router.post(
    "/fines/{fine_id}/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay a fine with the wallet's confirmation",
    responses={
        **problem_responses(
            IdempotencyKeyMissing,
            InvalidIdempotencyKey,
            FineNotFound,
            InvalidPaymentConfirmation,
            PayerNotOwner,
            PaymentMismatch,
            IdempotencyKeyReused,
            FineAlreadyPaid,
            PaymentConflict,
        ),
        200: {"model": ReceiptPublic, "description": "The same request again: the first payment's receipt"},
    },
)
async def pay(
    fine_id: RowId,
    body: PaymentCreate,
    response: Response,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    policy: PolicyDep,
    verifier: PaymentVerifierDep,
    worker: WorkerDep,
    caller: FinesPayer,
    idempotency_key: IdempotencyKeyDep,
) -> ReceiptPublic:
    confirmation = await verifier.verify(body.confirmation)
    payment, created = await run_in_threadpool(
        pay_fine,
        session,
        fine_id,
        idempotency_key=idempotency_key,
        confirmation=confirmation,
        payee=settings.service_name,
        now=now,
        reporting=policy.credit_reporting,
        payer_rule=policy.payer_rule,
    )
    if created:
        worker.wake()  # a settlement to report goes out now, not at the next tick
    else:
        response.status_code = status.HTTP_200_OK
    return ReceiptPublic.model_validate(payment)
