"""The wallet's ledger, without HTTP: balances and payments in the gateway's own database.

Every function is one transaction, committed here; a refusal writes nothing. The database
decides every race:

- a payment and its debit are one transaction: the payment row (unique per citizen and
  Idempotency-Key) and ``UPDATE wallet SET balance = balance - :amount WHERE balance >= :amount``;
  a second request with the same key loses on the unique index and is answered from the winner;
- a pending payment leaves ``pending`` once, by a conditional UPDATE (``… WHERE status =
  'pending'``); the refund of a cancelled payment is in that same transaction, so a payment is
  refunded at most once and never after it completed.

Talking to the departments is ``superapp_gateway.department_payments``'s business.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from kernel.problems import IdempotencyKeyReused
from superapp_gateway.errors import InsufficientBalance, PaymentNotFound
from superapp_gateway.models import PaymentStatus, Wallet, WalletPayment

# A back-off that never stops growing is cut off here (one query condition per distinct wait).
MAX_DISTINCT_WAITS = 32

CURRENCY = "CNY"
RECENT_PAYMENTS = 20
MAX_ERROR_LENGTH = 500


# --- opening and reading ------------------------------------------------------------------------------


def _open(session: Session, subject: str, *, starting_balance: int, now: datetime) -> None:
    """Opens the citizen's wallet unless it is open (one INSERT that does nothing if it is, so two
    first uses at once open it once). Part of the caller's transaction."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(Wallet) if dialect == "postgresql" else sqlite.insert(Wallet)
    session.exec(
        insert.values(subject=subject, balance_cents=starting_balance, updated_at=now).on_conflict_do_nothing()
    )


def wallet_of(session: Session, subject: str, *, starting_balance: int, now: datetime) -> Wallet:
    """The citizen's wallet, opened with ``starting_balance`` at first use (only then is anything
    written: a read of an open wallet commits nothing)."""
    wallet = session.get(Wallet, subject)
    if wallet is None:
        _open(session, subject, starting_balance=starting_balance, now=now)
        session.commit()
        wallet = session.get(Wallet, subject)
    assert wallet is not None
    return wallet


def recent_payments(session: Session, subject: str, limit: int = RECENT_PAYMENTS) -> Sequence[WalletPayment]:
    return session.exec(
        select(WalletPayment)
        .where(WalletPayment.subject == subject)
        .order_by(col(WalletPayment.created_at).desc(), col(WalletPayment.id))
        .limit(limit)
    ).all()


def payment_of(session: Session, subject: str, payment_id: str) -> WalletPayment:
    """One of the citizen's own payments; another citizen's is as unknown as one that does not exist."""
    payment = session.get(WalletPayment, payment_id)
    if payment is None or payment.subject != subject:
        raise PaymentNotFound(payment_id)
    return payment


def due_for_retry(
    session: Session, *, now: datetime, wait_after: Callable[[int], timedelta], limit: int = 50
) -> Sequence[WalletPayment]:
    """Pending payments whose last attempt is at least ``wait_after(attempts)`` old, oldest first.

    ``wait_after`` must grow with the attempts and stop growing at some count (a capped back-off):
    the wait is decided in the query, one condition per distinct wait, so that the ``limit`` is
    filled with due payments only, never with ones still waiting out their back-off."""
    attempts, last_attempt, conditions = col(WalletPayment.attempts), col(WalletPayment.updated_at), []
    longest, count = wait_after(MAX_DISTINCT_WAITS), 0
    while wait_after(count) < longest:
        conditions.append(and_(attempts == count, last_attempt <= now - wait_after(count)))
        count += 1
    conditions.append(and_(attempts >= count, last_attempt <= now - longest))
    return session.exec(
        select(WalletPayment)
        .where(WalletPayment.status == PaymentStatus.PENDING, or_(*conditions))
        .order_by(col(WalletPayment.updated_at), col(WalletPayment.id))
        .limit(limit)
    ).all()


# --- paying -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentOrder:
    """What the citizen asks the wallet to pay."""

    payee: str
    reference: str
    amount_cents: int

    def fingerprint(self) -> str:
        """What makes two requests under one Idempotency-Key "the same payment"."""
        asked = {"payee": self.payee, "reference": self.reference, "amount_cents": self.amount_cents}
        return hashlib.sha256(json.dumps(asked, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def new_payment_id() -> str:
    """Opaque and unguessable; visible ASCII, as it also travels as the department's Idempotency-Key."""
    return f"wp-{secrets.token_hex(12)}"


def _by_key(session: Session, subject: str, idempotency_key: str) -> WalletPayment | None:
    return session.exec(
        select(WalletPayment).where(WalletPayment.subject == subject, WalletPayment.idempotency_key == idempotency_key)
    ).first()


def _replayed(existing: WalletPayment, order: PaymentOrder) -> WalletPayment:
    if existing.request_fingerprint != order.fingerprint():
        raise IdempotencyKeyReused("This Idempotency-Key was already used for another payment; use a new key.")
    return existing


def start_payment(
    session: Session,
    subject: str,
    order: PaymentOrder,
    *,
    idempotency_key: str,
    starting_balance: int,
    now: datetime,
) -> tuple[WalletPayment, bool]:
    """Record a pending payment and debit the wallet, in one transaction. Returns the payment and
    whether it was made now (False: this key was used before, for this same payment).

    Insufficient balance: 402 and nothing is written (not even the wallet's opening).
    """
    existing = _by_key(session, subject, idempotency_key)
    if existing is not None:
        return _replayed(existing, order), False
    _open(session, subject, starting_balance=starting_balance, now=now)
    payment = WalletPayment(
        id=new_payment_id(),
        subject=subject,
        payee=order.payee,
        reference=order.reference,
        amount_cents=order.amount_cents,
        currency=CURRENCY,
        idempotency_key=idempotency_key,
        request_fingerprint=order.fingerprint(),
        status=PaymentStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    try:
        session.flush()
    except IntegrityError:
        # the same key, committed by a concurrent request since the lookup: answer from it
        session.rollback()
        existing = _by_key(session, subject, idempotency_key)
        if existing is None:
            raise
        return _replayed(existing, order), False
    debited = session.exec(
        update(Wallet)
        .where(col(Wallet.subject) == subject, col(Wallet.balance_cents) >= order.amount_cents)
        .values(balance_cents=Wallet.balance_cents - order.amount_cents, updated_at=now)
    ).rowcount
    if debited != 1:
        session.rollback()
        balance = session.get(Wallet, subject)
        raise InsufficientBalance(balance.balance_cents if balance else starting_balance, order.amount_cents)
    session.commit()
    return payment, True


# --- settling by the department's answer --------------------------------------------------------------


def _leave_pending(session: Session, payment_id: str, now: datetime, **values) -> bool:
    """The one way out of ``pending``: true for the one transaction that took the payment out."""
    return (
        session.exec(
            update(WalletPayment)
            .where(col(WalletPayment.id) == payment_id, col(WalletPayment.status) == PaymentStatus.PENDING)
            .values(attempts=WalletPayment.attempts + 1, updated_at=now, **values)
        ).rowcount
        == 1
    )


def _reloaded(session: Session, payment_id: str) -> WalletPayment:
    session.expire_all()
    payment = session.get(WalletPayment, payment_id)
    assert payment is not None
    return payment


def complete(session: Session, payment_id: str, *, receipt: str | None, now: datetime) -> WalletPayment:
    """The department took the payment. A payment no longer pending is left as it is."""
    _leave_pending(
        session, payment_id, now, status=PaymentStatus.COMPLETED, department_receipt=receipt, last_error=None
    )
    session.commit()
    return _reloaded(session, payment_id)


def cancel_and_refund(session: Session, payment_id: str, *, reason: str, now: datetime) -> WalletPayment:
    """The department refused the payment for good: cancelled, and the amount back in the wallet, at once."""
    payment = session.get(WalletPayment, payment_id)
    assert payment is not None
    if _leave_pending(session, payment_id, now, status=PaymentStatus.CANCELLED, last_error=reason[:MAX_ERROR_LENGTH]):
        session.exec(
            update(Wallet)
            .where(col(Wallet.subject) == payment.subject)
            .values(balance_cents=Wallet.balance_cents + payment.amount_cents, updated_at=now)
        )
    session.commit()
    return _reloaded(session, payment_id)


def record_no_answer(session: Session, payment_id: str, *, reason: str, now: datetime) -> WalletPayment:
    """No definitive answer (unreachable, 5xx, timeout): the payment stays pending, and debited."""
    session.exec(
        update(WalletPayment)
        .where(col(WalletPayment.id) == payment_id, col(WalletPayment.status) == PaymentStatus.PENDING)
        .values(attempts=WalletPayment.attempts + 1, updated_at=now, last_error=reason[:MAX_ERROR_LENGTH])
    )
    session.commit()
    return _reloaded(session, payment_id)
