from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from kernel.bounds import Reference, RowId
from kernel.dependencies import SessionDep
from kernel.problems import Problem
from kernel.tokens import caller_with
from services.fines.confirmations import verified_confirmation
from services.fines.domain import (
    china_date,
    fines_for_citizen,
    fines_for_vehicle,
    get_fine,
    pay_fine,
    public_fine,
    receipt_for,
)
from services.fines.models import FinePublic, PaymentCreate, ReceiptPublic

router = APIRouter(tags=["fines"])

MAX_IDEMPOTENCY_KEY_LENGTH = 200


def department_clock(request: Request) -> datetime:
    """The department's "now" (``app.state.clock``), so tests and workshops can move it."""
    return request.app.state.clock()


Now = Annotated[datetime, Depends(department_clock)]


@router.get("/vehicles/{plate}/fines", summary="Fines recorded against a vehicle")
def list_vehicle_fines(
    plate: Reference, session: SessionDep, now: Now, caller: caller_with("fines:read")
) -> Sequence[FinePublic]:
    today = china_date(now)
    return [public_fine(fine, today) for fine in fines_for_vehicle(session, plate)]


@router.get("/citizens/{subject}/fines", summary="A citizen's fines across all their vehicles")
def list_citizen_fines(
    subject: Reference, session: SessionDep, now: Now, caller: caller_with("fines:read")
) -> Sequence[FinePublic]:
    today = china_date(now)
    return [public_fine(fine, today) for fine in fines_for_citizen(session, subject)]


@router.get("/fines/{fine_id}", summary="One fine")
def read_fine(fine_id: RowId, session: SessionDep, now: Now, caller: caller_with("fines:read")) -> FinePublic:
    return public_fine(get_fine(session, fine_id), china_date(now))


@router.get("/fines/{fine_id}/receipt", summary="The receipt of a paid fine")
def read_receipt(fine_id: RowId, session: SessionDep, caller: caller_with("fines:read")) -> ReceiptPublic:
    return receipt_for(session, fine_id)


def _idempotency_key(value: str | None) -> str:
    if value is None:
        raise Problem(400, "A payment needs an Idempotency-Key header.", kind="idempotency-key-missing")
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY_LENGTH or not value.isascii() or not value.isprintable():
        raise Problem(
            400,
            f"The Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters.",
            kind="invalid-idempotency-key",
        )
    return value


@router.post(
    "/fines/{fine_id}/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay a fine with the wallet's confirmation",
    responses={200: {"model": ReceiptPublic, "description": "The same request again: the first payment's receipt"}},
)
async def pay(
    fine_id: RowId,
    body: PaymentCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    now: Now,
    caller: caller_with("fines:pay"),
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ReceiptPublic:
    key = _idempotency_key(idempotency_key)
    confirmation = await verified_confirmation(request.app, body.confirmation)
    payment, created = await run_in_threadpool(
        pay_fine,
        session,
        fine_id,
        idempotency_key=key,
        confirmation=confirmation,
        payee=request.app.state.settings.service_name,
        now=now,
        reporting=request.app.state.policy.credit_reporting,
        payer_rule=request.app.state.policy.payer_rule,
    )
    if created:
        request.app.state.fines_worker.wake()  # a settlement to report goes out now, not at the next tick
    else:
        response.status_code = status.HTTP_200_OK
    return ReceiptPublic.model_validate(payment)
