"""The wallet's API: a logged-in citizen's balance, and payments to departments (docs/wallet.md)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from kernel.bounds import Reference
from kernel.problems import Problem
from superapp_gateway import payments, wallet
from superapp_gateway.models import PaymentStatus, WalletPayment
from superapp_gateway.sessions import CurrentSession

router = APIRouter(prefix="/wallet", tags=["wallet"])
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # visible ASCII, as HTTP header values go


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


def _public(payment: WalletPayment) -> WalletPaymentPublic:
    return WalletPaymentPublic.model_validate(payment)


def _idempotency_key(value: str | None) -> str:
    if value is None:
        raise Problem(
            400,
            "A payment needs an Idempotency-Key header, so that sending it again never pays twice.",
            kind="idempotency-key-missing",
        )
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise Problem(
            400, "The Idempotency-Key must be 1 to 200 visible ASCII characters.", kind="invalid-idempotency-key"
        )
    return value


def _wallet(app, subject: str) -> WalletPublic:
    with app.state.database.session() as session:
        opened = wallet.wallet_of(
            session, subject, now=wallet.utc_now(), starting_balance=app.state.settings.wallet_starting_balance_cents
        )
        recent = wallet.recent_payments(session, subject)
        return WalletPublic(
            balance_cents=opened.balance_cents,
            currency=wallet.CURRENCY,
            payments=[_public(payment) for payment in recent],
        )


def _payment(app, subject: str, payment_id: str) -> WalletPayment:
    with app.state.database.session() as session:
        return wallet.payment_of(session, subject, payment_id)


@router.get("", summary="My balance and recent payments (the wallet opens at first use)")
async def read_wallet(request: Request, citizen: CurrentSession) -> WalletPublic:
    return await run_in_threadpool(_wallet, request.app, citizen.subject)


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay a department from my wallet",
    responses={200: {"model": WalletPaymentPublic, "description": "The same Idempotency-Key and payment again"}},
)
async def create_payment(
    body: PaymentCreate,
    request: Request,
    response: Response,
    citizen: CurrentSession,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> WalletPaymentPublic:
    key = _idempotency_key(idempotency_key)
    order = wallet.PaymentOrder(payee=body.payee, reference=body.reference, amount_cents=body.amount_cents)
    payment, created = await payments.pay(request.app, citizen.subject, order, idempotency_key=key)
    if not created:
        response.status_code = status.HTTP_200_OK
    elif payment.status is PaymentStatus.COMPLETED:
        await run_in_threadpool(
            request.app.state.policy.history.record,
            request.app,
            citizen.subject,
            payment.payee,
            "paid from the wallet",
            _public(payment).model_dump(mode="json"),
        )
    return _public(payment)


@router.get("/payments/{payment_id}", summary="One of my payments")
async def read_payment(payment_id: Reference, request: Request, citizen: CurrentSession) -> WalletPaymentPublic:
    return _public(await run_in_threadpool(_payment, request.app, citizen.subject, payment_id))


@router.post("/payments/{payment_id}/retry", summary="Send a pending payment to its department again")
async def retry_payment(payment_id: Reference, request: Request, citizen: CurrentSession) -> WalletPaymentPublic:
    return _public(await payments.retry(request.app, citizen.subject, payment_id))


@router.delete("/payments/{payment_id}", summary="Cancel a pending payment the department refuses (refunded)")
async def cancel_payment(payment_id: Reference, request: Request, citizen: CurrentSession) -> WalletPaymentPublic:
    return _public(await payments.cancel(request.app, citizen.subject, payment_id))
