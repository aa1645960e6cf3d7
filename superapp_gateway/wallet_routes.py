"""The wallet's API: a logged-in citizen's balance, and payments to departments (docs/wallet.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlmodel import Session

from kernel.bounds import Reference
from kernel.dependencies import IdempotencyKeyDep, NowDep, SessionDep
from kernel.problems import (
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    problem_responses,
)
from superapp_gateway import payments, wallet
from superapp_gateway.auth import CITIZEN_PROBLEMS, CurrentSession
from superapp_gateway.department_payments import Cashier
from superapp_gateway.dependencies import HistoryDep, JourneyHistory, SettingsDep, StateDep
from superapp_gateway.errors import (
    BillNotPayable,
    DepartmentTimeout,
    DepartmentUnavailable,
    InsufficientBalance,
    PaymentCancelled,
    PaymentCompleted,
    PaymentInDoubt,
    PaymentNotFound,
    UnknownPayee,
)
from superapp_gateway.models import PaymentStatus, WalletPayment

router = APIRouter(prefix="/wallet", tags=["wallet"])


class PaymentCreate(BaseModel):
    payee: str = Field(max_length=40, description="The department to pay: fines or prescriptions.", examples=["fines"])
    reference: str = Field(
        min_length=1, max_length=200, description="The department's bill: a fine id, a prescription id."
    )
    amount_cents: StrictInt = Field(gt=0, le=100_000_000, description="In fen (1/100 yuan).")


class WalletPaymentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    payee: str
    reference: str
    amount_cents: int
    currency: str
    idempotency_key: str
    status: PaymentStatus
    attempts: int
    last_error: str | None
    department_receipt: str | None
    created_at: datetime
    updated_at: datetime


class WalletPublic(BaseModel):
    balance_cents: int
    currency: str
    payments: list[WalletPaymentPublic] = Field(description="The most recent payments, newest first.")


async def cashier(state: StateDep) -> Cashier:
    return Cashier.of(state)


CashierDep = Annotated[Cashier, Depends(cashier)]


# What taking a payment to its department may answer (superapp_gateway/payments.py).
# (and the department's own 4xx problems, passed on: DepartmentProblem, whose kinds are the department's)
SETTLING_PROBLEMS = (DepartmentUnavailable, DepartmentTimeout, BillNotPayable, PaymentCancelled)


def _public(payment: WalletPayment) -> WalletPaymentPublic:
    return WalletPaymentPublic.model_validate(payment)


def wallet_summary(session: Session, subject: str, now: datetime, starting_balance: int) -> WalletPublic:
    opened = wallet.wallet_of(session, subject, now=now, starting_balance=starting_balance)
    recent = wallet.recent_payments(session, subject)
    return WalletPublic(
        balance_cents=opened.balance_cents,
        currency=wallet.CURRENCY,
        payments=[_public(payment) for payment in recent],
    )


@router.get(
    "",
    summary="My balance and recent payments (the wallet opens at first use)",
    responses=problem_responses(*CITIZEN_PROBLEMS),
)
async def read_wallet(citizen: CurrentSession, session: SessionDep, settings: SettingsDep, now: NowDep) -> WalletPublic:
    return await run_in_threadpool(
        wallet_summary, session, citizen.subject, now, settings.wallet_starting_balance_cents
    )


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay a department from my wallet",
    responses={
        **problem_responses(
            *CITIZEN_PROBLEMS,
            IdempotencyKeyMissing,
            InvalidIdempotencyKey,
            IdempotencyKeyReused,
            UnknownPayee,
            InsufficientBalance,
            *SETTLING_PROBLEMS,
        ),
        200: {"model": WalletPaymentPublic, "description": "The same Idempotency-Key and payment again"},
    },
)
async def create_payment(
    body: PaymentCreate,
    response: Response,
    citizen: CurrentSession,
    key: IdempotencyKeyDep,
    till: CashierDep,
    history: HistoryDep,
) -> WalletPaymentPublic:
    order = wallet.PaymentOrder(payee=body.payee, reference=body.reference, amount_cents=body.amount_cents)
    payment, created = await pay_from_wallet(till, history, citizen.subject, order, key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _public(payment)


async def pay_from_wallet(
    till: Cashier, history: JourneyHistory, subject: str, order: wallet.PaymentOrder, key: str
) -> tuple[WalletPayment, bool]:
    """Pay (or, the same key again, answer the first payment); the regime's history keeps a
    completed payment. Also the phone's pages' (superapp_gateway/pages/)."""
    payment, created = await payments.pay(till, subject, order, idempotency_key=key)
    if created and payment.status is PaymentStatus.COMPLETED:
        await history.record(subject, payment.payee, "paid from the wallet", _public(payment).model_dump(mode="json"))
    return payment, created


def _payment(session: Session, subject: str, payment_id: str) -> WalletPayment:
    return wallet.payment_of(session, subject, payment_id)


@router.get(
    "/payments/{payment_id}",
    summary="One of my payments",
    responses=problem_responses(*CITIZEN_PROBLEMS, PaymentNotFound),
)
async def read_payment(payment_id: Reference, citizen: CurrentSession, session: SessionDep) -> WalletPaymentPublic:
    return _public(await run_in_threadpool(_payment, session, citizen.subject, payment_id))


@router.post(
    "/payments/{payment_id}/retry",
    summary="Send a pending payment to its department again",
    responses=problem_responses(*CITIZEN_PROBLEMS, PaymentNotFound, *SETTLING_PROBLEMS),
)
async def retry_payment(payment_id: Reference, citizen: CurrentSession, till: CashierDep) -> WalletPaymentPublic:
    return _public(await payments.retry(till, citizen.subject, payment_id))


@router.delete(
    "/payments/{payment_id}",
    summary="Cancel a pending payment the department refuses (refunded)",
    responses=problem_responses(*CITIZEN_PROBLEMS, PaymentNotFound, PaymentCompleted, PaymentInDoubt),
)
async def cancel_payment(payment_id: Reference, citizen: CurrentSession, till: CashierDep) -> WalletPaymentPublic:
    return _public(await payments.cancel(till, citizen.subject, payment_id))
