"""Paying a prescription with the wallet's signed confirmation, without HTTP.

The route has checked the confirmation (``kernel.payment_confirmations``); here it is held against
the request and the prescription: the payee, the reference and the key first, then the regime's
payer rule, then the amount and the currency. Exactly once is the database's rule: a payment row is
unique per prescription and per idempotency key (inserted with ``ON CONFLICT DO NOTHING``), and the
prescription moves issued → paid by a conditional UPDATE.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from kernel.payers import PayerRule
from kernel.payment_confirmations import PaymentConfirmation
from kernel.problems import IdempotencyKeyReused
from services.prescriptions.domain import as_utc, get_record, new_id
from services.prescriptions.errors import AlreadyPaid, ConfirmationMismatch, PayerNotPatient
from services.prescriptions.models import Payment, Prescription, PrescriptionStatus, Receipt

SERVICE = "prescriptions"  # the payee a payment confirmation must name
MAX_CLAIM_LENGTH = 200  # the longest payment id and payer the payments table keeps


def payment_fingerprint(confirmation: PaymentConfirmation) -> str:
    """Identifies the payment asserted, whatever moment the wallet signed it at."""
    asserted = confirmation.asserted()
    canonical = json.dumps(asserted, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_request(confirmation: PaymentConfirmation, *, prescription_id: str, idempotency_key: str) -> None:
    """The confirmation is for this payment request."""
    for claim, asserted, expected in (
        ("payee", confirmation.payee, SERVICE),
        ("reference", confirmation.reference, prescription_id),
        ("idempotency_key", confirmation.idempotency_key, idempotency_key),
    ):
        if asserted != expected:
            raise ConfirmationMismatch(claim)


def _payment_by_key(session: Session, idempotency_key: str) -> Payment | None:
    return session.exec(select(Payment).where(Payment.idempotency_key == idempotency_key)).first()


def _receipt(payment: Payment) -> Receipt:
    return Receipt.model_validate(
        {
            "receipt_id": payment.id,
            "prescription_id": payment.prescription_id,
            "payment_id": payment.payment_id,
            "amount_cents": payment.amount_cents,
            "currency": payment.currency,
            "paid_at": payment.paid_at,
            "idempotency_key": payment.idempotency_key,
        }
    )


def _replayed(existing: Payment, fingerprint: str) -> Receipt:
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used for a different payment.")
    return _receipt(existing)


def _replayed_or_already_paid(session: Session, key: str, fingerprint: str, prescription_id: str) -> Receipt:
    existing = _payment_by_key(session, key)
    if existing is None:
        raise AlreadyPaid(prescription_id)
    return _replayed(existing, fingerprint)


def _insert_unless_conflicting(session: Session, values: dict[str, Any]) -> bool:
    """One INSERT that does nothing when the key or the prescription already has a payment, so
    concurrent payments race inside the database's unique indexes. True if inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(Payment).values(**values).on_conflict_do_nothing().returning(col(Payment.id))
    elif dialect == "sqlite":
        statement = sqlite.insert(Payment).values(**values).on_conflict_do_nothing().returning(col(Payment.id))
    else:
        raise NotImplementedError(f"no conflict-free insert for {dialect}")
    return session.exec(statement).first() is not None


def pay(
    session: Session,
    prescription_id: str,
    confirmation: PaymentConfirmation,
    *,
    idempotency_key: str,
    now: datetime,
    payer_rule: PayerRule,
) -> tuple[Receipt, bool]:
    """File the wallet's confirmation (already checked: ``kernel.payment_confirmations``) as the
    payment of a prescription, made under ``idempotency_key`` (already checked:
    ``kernel.dependencies.idempotency_key``).

    Returns the receipt and whether it was created now. The same key with the same payment
    again is the same receipt; the same key with another payment is a 409, and so is paying a
    prescription already paid under another key. ``payer_rule`` is the regime's: whether the
    confirmation's payer must be the prescription's patient.
    """
    _check_request(confirmation, prescription_id=prescription_id, idempotency_key=idempotency_key)
    fingerprint = payment_fingerprint(confirmation)
    existing = _payment_by_key(session, idempotency_key)
    if existing is not None:
        return _replayed(existing, fingerprint), False
    record = get_record(session, prescription_id)
    if not payer_rule.accepts(confirmation.payer, liable=record.patient):
        raise PayerNotPatient()
    for claim, value, expected in (
        ("amount_cents", confirmation.amount_cents, record.amount_cents),
        ("currency", confirmation.currency, record.currency),
    ):
        if value != expected:
            raise ConfirmationMismatch(claim)
    if record.status != PrescriptionStatus.ISSUED:
        # paid since the key was looked up: perhaps by this very request, sent twice at once
        return _replayed_or_already_paid(session, idempotency_key, fingerprint, prescription_id), False
    paid_at = as_utc(now)
    receipt_id = new_id("rcpt")
    inserted = _insert_unless_conflicting(
        session,
        {
            "id": receipt_id,
            "prescription_id": prescription_id,
            "idempotency_key": idempotency_key,
            "fingerprint": fingerprint,
            "payment_id": confirmation.payment_id,
            "payer": confirmation.payer,
            "amount_cents": confirmation.amount_cents,
            "currency": confirmation.currency,
            "confirmation": confirmation.statement,
            "paid_at": paid_at,
        },
    )
    if inserted:
        marked = session.exec(
            update(Prescription)
            .where(col(Prescription.id) == prescription_id, col(Prescription.status) == PrescriptionStatus.ISSUED)
            .values(status=PrescriptionStatus.PAID, paid_at=paid_at)
        )
        if marked.rowcount == 1:
            session.commit()
            payment = session.get(Payment, receipt_id)
            assert payment is not None
            return _receipt(payment), True
    # Someone else's payment got there first: the same request (a replay) or another.
    session.rollback()
    return _replayed_or_already_paid(session, idempotency_key, fingerprint, prescription_id), False
