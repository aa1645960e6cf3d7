"""Paying a fine with the wallet's signed confirmation, and its receipt, without HTTP.

The route has checked the confirmation (``kernel.payment_confirmations``); here it is held against
the fine: the regime's payer rule first, then the payee, the reference, the key and the amount.
The database decides every race (see ``pay_fine``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from kernel.payers import PayerRule
from kernel.payment_confirmations import PaymentConfirmation
from kernel.problems import IdempotencyKeyReused
from services.fines.credit_reporting import CreditReporting
from services.fines.domain import get_fine, owner_of
from services.fines.errors import FineAlreadyPaid, PayerNotOwner, PaymentConflict, PaymentMismatch, ReceiptNotFound
from services.fines.models import Fine, FineStatus, Payment, ReceiptPublic

CURRENCY = "CNY"


def receipt_for(session: Session, fine_id: int) -> ReceiptPublic:
    get_fine(session, fine_id)
    payment = session.exec(select(Payment).where(Payment.fine_id == fine_id)).first()
    if payment is None:
        raise ReceiptNotFound(fine_id)
    return ReceiptPublic.model_validate(payment)


def request_fingerprint(confirmation: PaymentConfirmation, fine_id: int) -> str:
    """What makes two requests "the same payment": the fine and the claims, not the signature
    bytes (ECDSA signs the same claims differently each time) nor the signing time."""
    asked = {"fine_id": fine_id, **confirmation.asserted()}
    return hashlib.sha256(json.dumps(asked, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _payment_with_key(session: Session, idempotency_key: str) -> Payment | None:
    return session.exec(select(Payment).where(Payment.idempotency_key == idempotency_key)).first()


def _replay(payment: Payment, fingerprint: str) -> tuple[Payment, bool]:
    if payment.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another payment request; use a new key for a new payment."
        )
    return payment, False


def _check_confirmation(
    fine: Fine,
    owner_ref: str,
    confirmation: PaymentConfirmation,
    *,
    payee: str,
    idempotency_key: str,
    payer_rule: PayerRule,
) -> None:
    # The payer first: someone else's fine is refused whatever amount is asserted, so a wrong
    # amount's answer never confirms to a stranger what another person's fine costs.
    if not payer_rule.accepts(confirmation.payer, liable=owner_ref):
        raise PayerNotOwner()
    mismatched = [
        name
        for name, ok in (
            ("payee", confirmation.payee == payee),
            ("reference", confirmation.reference == str(fine.id)),
            ("idempotency_key", confirmation.idempotency_key == idempotency_key),
            ("currency", confirmation.currency == CURRENCY),
            ("amount_cents", confirmation.amount_cents == fine.amount_cents),
        )
        if not ok
    ]
    if mismatched:
        raise PaymentMismatch(mismatched)


def pay_fine(
    session: Session,
    fine_id: int,
    *,
    idempotency_key: str,
    confirmation: PaymentConfirmation,
    payee: str,
    now: datetime,
    reporting: CreditReporting,
    payer_rule: PayerRule,
) -> tuple[Payment, bool]:
    """Pay a fine with the wallet's confirmation. Returns the payment (the receipt) and whether it
    was made now (False: the same request again, answered with the first one's receipt).
    ``payer_rule`` is the regime's: whether the confirmation's payer must own the vehicle.

    The database decides every race: the fine's conditional UPDATE (not yet paid) lets one
    payment through per fine, and the unique idempotency key, fine and payment id let one row
    in; a loser rolls back and is answered from what the winner committed.
    """
    fingerprint = request_fingerprint(confirmation, fine_id)
    existing = _payment_with_key(session, idempotency_key)
    if existing is not None:
        return _replay(existing, fingerprint)
    fine = get_fine(session, fine_id)
    owner_ref = owner_of(session, fine)
    _check_confirmation(
        fine, owner_ref, confirmation, payee=payee, idempotency_key=idempotency_key, payer_rule=payer_rule
    )
    if fine.status == FineStatus.PAID:
        # perhaps by a concurrent request with this very key, committed since the lookup above
        return _after_losing_a_race(session, fine_id, idempotency_key, fingerprint)
    try:
        # The first write of the transaction (on SQLite the write lock is taken here, waiting out
        # concurrent writers), and on PostgreSQL the row lock every other payment of this fine queues on.
        changed = session.exec(
            update(Fine)
            .where(col(Fine.id) == fine_id, col(Fine.status) != FineStatus.PAID)
            .values(status=FineStatus.PAID, paid_at=now)
        ).rowcount
        if not changed:
            session.rollback()
            return _after_losing_a_race(session, fine_id, idempotency_key, fingerprint)
        payment = Payment(
            receipt_id=f"R-{uuid.uuid4().hex}",
            fine_id=fine_id,
            amount_cents=fine.amount_cents,
            currency=CURRENCY,
            paid_at=now,
            payment_id=confirmation.payment_id,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            payer_ref=confirmation.payer,
            confirmation=confirmation.statement,
        )
        session.add(payment)
        session.flush()
        session.refresh(fine)
        reporting.fine_was_paid(session, fine, now=now)
        session.commit()
    except IntegrityError:
        session.rollback()
        return _after_losing_a_race(session, fine_id, idempotency_key, fingerprint)
    return payment, True


def _after_losing_a_race(
    session: Session, fine_id: int, idempotency_key: str, fingerprint: str
) -> tuple[Payment, bool]:
    """Another transaction committed first: answer from what it wrote."""
    session.expire_all()
    existing = _payment_with_key(session, idempotency_key)
    if existing is not None:
        return _replay(existing, fingerprint)
    if get_fine(session, fine_id).status == FineStatus.PAID:
        raise FineAlreadyPaid(fine_id)
    raise PaymentConflict()
