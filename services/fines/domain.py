"""The traffic police's operations, without HTTP.

Every function that depends on the date or time takes ``today`` / ``now``, so a test (or a
workshop) moves the clock instead of waiting. Every writing operation is one transaction,
committed here; on any refusal nothing of it is written.

Overdue. A fine is *overdue* when it is unpaid and today (China Standard Time) is after its
due date. That one predicate (``status_on``) is what every answer of the API shows, so no
answer ever lags. The stored ``status`` column catches up in ``mark_overdue_fines`` (the sweep
the background worker runs), and only that state change — one conditional UPDATE per fine —
is what the regime's credit-reporting policy hangs its outbox entry on, in the same
transaction. A fine paid before the sweep reached it was never "overdue" in the stored sense
and is never reported.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kernel.payers import PayerRule
from kernel.problems import Problem
from services.fines.credit_reporting import CreditReporting
from services.fines.models import Fine, FineCreate, FinePublic, FineStatus, Payment, ReceiptPublic, Vehicle

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
CURRENCY = "CNY"


def china_date(now: datetime) -> date:
    """The calendar day in Guangzhou at ``now``: due dates are local days."""
    return now.astimezone(CHINA_STANDARD_TIME).date()


def overdue_since(fine: Fine) -> datetime:
    """The moment a fine falls overdue: midnight (CST) at the end of its due date."""
    return datetime.combine(fine.due_date + timedelta(days=1), time(0), CHINA_STANDARD_TIME)


# --- problems -----------------------------------------------------------------------------------


class VehicleNotFound(Problem):
    def __init__(self, plate: str) -> None:
        super().__init__(404, f"No vehicle with plate {plate!r} is registered.", kind="vehicle-not-found")


class FineNotFound(Problem):
    def __init__(self, fine_id: int) -> None:
        super().__init__(404, f"There is no fine {fine_id}.", kind="fine-not-found")


class ReceiptNotFound(Problem):
    def __init__(self, fine_id: int) -> None:
        super().__init__(404, f"Fine {fine_id} has not been paid, so there is no receipt.", kind="receipt-not-found")


class FineAlreadyPaid(Problem):
    def __init__(self, fine_id: int) -> None:
        super().__init__(
            409,
            f"Fine {fine_id} has already been paid (under another Idempotency-Key).",
            kind="fine-already-paid",
        )


class IdempotencyKeyReused(Problem):
    def __init__(self) -> None:
        super().__init__(
            409,
            "This Idempotency-Key was used for another payment request; use a new key for a new payment.",
            kind="idempotency-key-reused",
        )


class PaymentConflict(Problem):
    def __init__(self, detail: str) -> None:
        super().__init__(409, detail, kind="payment-conflict")


class PaymentMismatch(Problem):
    def __init__(self, mismatched: list[str]) -> None:
        super().__init__(
            422,
            f"The payment confirmation does not match this payment: {', '.join(mismatched)}.",
            kind="payment-mismatch",
            mismatched=mismatched,
        )


class PayerNotOwner(Problem):
    def __init__(self) -> None:
        super().__init__(
            422,
            "The confirmation's payer is not the registered owner of the fined vehicle.",
            kind="payer-not-owner",
        )


# --- reading ------------------------------------------------------------------------------------


def status_on(fine: Fine, today: date) -> FineStatus:
    """The fine's status as of ``today``: the one rule for "overdue", whether or not the sweep has run."""
    if fine.status == FineStatus.PAID:
        return FineStatus.PAID
    return FineStatus.OVERDUE if today > fine.due_date else FineStatus.UNPAID


def public_fine(fine: Fine, today: date) -> FinePublic:
    return FinePublic.model_validate(fine, update={"status": status_on(fine, today)})


def fines_for_vehicle(session: Session, plate: str) -> Sequence[Fine]:
    fines = session.exec(select(Fine).where(Fine.plate == plate).order_by(Fine.occurred_at, Fine.id)).all()
    # Only an empty answer needs the second query: no fines, or no such vehicle?
    if not fines and session.get(Vehicle, plate) is None:
        raise VehicleNotFound(plate)
    return fines


def fines_for_citizen(session: Session, subject: str) -> Sequence[Fine]:
    """Every fine on every vehicle registered to ``subject``, oldest first. A subject with no
    vehicle simply has none: the answer does not tell whether the department knows them."""
    return session.exec(
        select(Fine).join(Vehicle).where(Vehicle.owner_ref == subject).order_by(Fine.occurred_at, Fine.id)
    ).all()


def get_fine(session: Session, fine_id: int) -> Fine:
    fine = session.get(Fine, fine_id)
    if fine is None:
        raise FineNotFound(fine_id)
    return fine


def receipt_for(session: Session, fine_id: int) -> ReceiptPublic:
    get_fine(session, fine_id)
    payment = session.exec(select(Payment).where(Payment.fine_id == fine_id)).first()
    if payment is None:
        raise ReceiptNotFound(fine_id)
    return ReceiptPublic.model_validate(payment)


# --- recording ----------------------------------------------------------------------------------


def register_vehicle(session: Session, plate: str, owner_ref: str) -> Vehicle:
    vehicle = Vehicle(plate=plate, owner_ref=owner_ref)
    session.add(vehicle)
    session.commit()
    return vehicle


def record_fine(session: Session, fine: FineCreate) -> Fine:
    """A camera or a parking warden records an offence against a registered vehicle."""
    if session.get(Vehicle, fine.plate) is None:
        raise VehicleNotFound(fine.plate)
    row = Fine.model_validate(fine)
    session.add(row)
    session.commit()
    return row


# --- the overdue sweep --------------------------------------------------------------------------


def mark_overdue_fines(session: Session, *, now: datetime, reporting: CreditReporting) -> list[Fine]:
    """Store "overdue" on every unpaid fine past its due date, and let the regime's policy write
    what it reports (an outbox entry, or nothing) in the same transaction. Returns the fines marked.

    Each change is a conditional UPDATE (still unpaid), so a payment committed meanwhile wins and
    that fine is neither marked nor reported; running the sweep twice marks nothing twice.
    """
    today = china_date(now)
    candidates = session.exec(
        select(Fine.id).where(Fine.status == FineStatus.UNPAID, Fine.due_date < today).order_by(Fine.id)
    ).all()
    marked: list[Fine] = []
    for fine_id in candidates:
        changed = session.exec(
            update(Fine).where(Fine.id == fine_id, Fine.status == FineStatus.UNPAID).values(status=FineStatus.OVERDUE)
        ).rowcount
        if not changed:
            continue
        fine = session.get(Fine, fine_id)
        assert fine is not None
        session.refresh(fine)
        owner_ref = session.get(Vehicle, fine.plate).owner_ref  # type: ignore[union-attr]
        reporting.fine_became_overdue(session, fine, owner_ref, overdue_at=overdue_since(fine), now=now)
        marked.append(fine)
    session.commit()
    return marked


# --- paying -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentConfirmation:
    """The claims of a verified payment+jwt statement from the wallet (services.fines.confirmations)."""

    payment_id: str
    payer: str
    payee: str
    reference: str
    amount_cents: int
    currency: str
    idempotency_key: str
    statement: str  # the compact JWS itself

    def fingerprint(self, fine_id: int) -> str:
        """What makes two requests "the same payment": the fine and the claims, not the signature
        bytes (ECDSA signs the same claims differently each time) nor the signing time."""
        asked = {
            "fine_id": fine_id,
            "payment_id": self.payment_id,
            "payer": self.payer,
            "payee": self.payee,
            "reference": self.reference,
            "amount_cents": self.amount_cents,
            "currency": self.currency,
            "idempotency_key": self.idempotency_key,
        }
        return hashlib.sha256(json.dumps(asked, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _payment_with_key(session: Session, idempotency_key: str) -> Payment | None:
    return session.exec(select(Payment).where(Payment.idempotency_key == idempotency_key)).first()


def _replay(payment: Payment, fingerprint: str) -> tuple[Payment, bool]:
    if payment.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
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
    fingerprint = confirmation.fingerprint(fine_id)
    existing = _payment_with_key(session, idempotency_key)
    if existing is not None:
        return _replay(existing, fingerprint)
    fine = get_fine(session, fine_id)
    owner_ref = session.get(Vehicle, fine.plate).owner_ref  # type: ignore[union-attr]
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
            .where(Fine.id == fine_id, Fine.status != FineStatus.PAID)
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
    raise PaymentConflict("This wallet payment id was already used for another payment.")


def utc_now() -> datetime:
    return datetime.now(UTC)
