"""The hospital and pharmacy's operations, without HTTP: each is one transaction, committed here.

Where a prescription's contents live is the ``store``'s business (``services.prescriptions.stores``);
these functions only say when the contents are needed. Every function that depends on the
time takes ``now``.

Exactly-once rules are the database's: a prescription moves issued → paid → dispensed only by
conditional UPDATEs (``… WHERE status = 'paid'``), a payment row is unique per prescription and
per idempotency key (inserted with ``ON CONFLICT DO NOTHING``), and a prescription gets at most
one parcel (``… WHERE parcel_id IS NULL``). Concurrent requests race inside the database, never
between a read and a write.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from kernel.payers import PayerRule
from kernel.problems import Problem
from services.prescriptions.delivery import DeliveryConsentRequested, DeliveryDesk
from services.prescriptions.models import (
    CURRENCY,
    DeliveryOrder,
    DeliveryOrderCreate,
    DeliveryOrderPublic,
    DispensationCreate,
    DispensationPublic,
    Payment,
    Prescription,
    PrescriptionContents,
    PrescriptionCreate,
    PrescriptionPublic,
    PrescriptionStatus,
    Receipt,
)
from services.prescriptions.stores import PrescriptionStore, Purpose

SERVICE = "prescriptions"  # the payee a payment confirmation must name
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # visible ASCII, as HTTP header values go


# --- problems -------------------------------------------------------------------------------------


class PrescriptionNotFound(Problem):
    def __init__(self, prescription_id: str) -> None:
        super().__init__(404, f"No prescription {prescription_id!r} is known.", kind="prescription-not-found")


class PrescriptionExists(Problem):
    def __init__(self, prescription_id: str) -> None:
        super().__init__(409, f"Prescription {prescription_id!r} has already been issued.", kind="prescription-exists")


class IdempotencyKeyMissing(Problem):
    def __init__(self) -> None:
        super().__init__(
            400,
            "A payment needs an Idempotency-Key header, so a retried request never pays twice.",
            kind="idempotency-key-missing",
        )


class InvalidIdempotencyKey(Problem):
    def __init__(self) -> None:
        super().__init__(
            400, "The Idempotency-Key must be 1 to 200 visible ASCII characters.", kind="invalid-idempotency-key"
        )


class InvalidConfirmation(Problem):
    def __init__(self, reason: str) -> None:
        super().__init__(
            422, f"The payment confirmation is not acceptable: {reason}.", kind="invalid-payment-confirmation"
        )


class ConfirmationMismatch(Problem):
    # Names the claim, never the value this payment needs: a caller guessing a prescription's amount
    # must not be told it (issue 13, L4).
    def __init__(self, claim: str) -> None:
        super().__init__(
            422,
            f"The payment confirmation's {claim} does not match this payment.",
            kind="payment-confirmation-mismatch",
            claim=claim,
        )


class PayerNotPatient(Problem):
    def __init__(self) -> None:
        super().__init__(
            422,
            "The payment confirmation names a payer who is not this prescription's patient.",
            kind="payer-not-patient",
        )


class IdempotencyKeyReused(Problem):
    def __init__(self) -> None:
        super().__init__(
            409, "This Idempotency-Key was already used for a different payment.", kind="idempotency-key-reused"
        )


class AlreadyPaid(Problem):
    def __init__(self, prescription_id: str) -> None:
        super().__init__(409, f"Prescription {prescription_id!r} has already been paid.", kind="already-paid")


class NotPaid(Problem):
    def __init__(self, prescription_id: str) -> None:
        super().__init__(
            409, f"Prescription {prescription_id!r} has not been paid; a pharmacy cannot dispense it.", kind="not-paid"
        )


class AlreadyDispensed(Problem):
    def __init__(self, prescription_id: str) -> None:
        super().__init__(409, f"Prescription {prescription_id!r} has already been dispensed.", kind="already-dispensed")


class NotDispensed(Problem):
    def __init__(self, prescription_id: str) -> None:
        super().__init__(
            409,
            f"Prescription {prescription_id!r} has not been dispensed; there is nothing to deliver.",
            kind="not-dispensed",
        )


class DeliveryAlreadyOrdered(Problem):
    def __init__(self, prescription_id: str) -> None:
        super().__init__(
            409,
            f"A delivery of prescription {prescription_id!r} has already been ordered.",
            kind="delivery-already-ordered",
        )


# --- helpers --------------------------------------------------------------------------------------


def new_id(prefix: str) -> str:
    """Opaque and unguessable: a prescription's id says nothing about how many others there are."""
    return f"{prefix}-{secrets.token_hex(8)}"


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime as now")
    return now.astimezone(UTC)  # SQLite stores the wall clock only, so always store UTC


def _get(session: Session, prescription_id: str) -> Prescription:
    record = session.get(Prescription, prescription_id)
    if record is None:
        raise PrescriptionNotFound(prescription_id)
    return record


def _public(record: Prescription, contents: PrescriptionContents) -> PrescriptionPublic:
    return PrescriptionPublic.model_validate(
        contents.model_dump()
        | record.model_dump(
            include={
                "id",
                "patient",
                "amount_cents",
                "currency",
                "issued_at",
                "status",
                "paid_at",
                "dispensed_at",
                "pharmacy",
                "parcel_id",
            },
        )
    )


# --- issuing and reading --------------------------------------------------------------------------


def issue(
    session: Session,
    store: PrescriptionStore,
    draft: PrescriptionCreate,
    *,
    now: datetime,
    prescription_id: str | None = None,
) -> PrescriptionPublic:
    """A doctor issues a prescription for ``draft.patient``; its contents go where ``store`` keeps them
    (in the rights regime, the patient's pod named by ``draft.pod``). Nothing is kept if that fails."""
    draft = PrescriptionCreate.model_validate(draft)
    prescription_id = prescription_id or new_id("rx")
    if session.get(Prescription, prescription_id) is not None:
        raise PrescriptionExists(prescription_id)
    record = Prescription(
        id=prescription_id,
        patient=draft.patient,
        amount_cents=draft.amount_cents,
        currency=CURRENCY,
        issued_at=_utc(now),
        status=PrescriptionStatus.ISSUED,
        contents_in=store.location,
    )
    contents = PrescriptionContents.model_validate(draft.model_dump(include=set(PrescriptionContents.model_fields)))
    try:
        kept = store.keep(session, record, contents, pod=draft.pod)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return _public(record, kept)


def prescription(
    session: Session, store: PrescriptionStore, prescription_id: str, *, purpose: Purpose = Purpose.SERVICE
) -> PrescriptionPublic:
    """One prescription, read for ``purpose`` (``PATIENT_VIEW`` only when the patient herself asks)."""
    record = _get(session, prescription_id)
    return _public(record, store.contents_of(session, record, purpose))


def prescriptions_of(
    session: Session, store: PrescriptionStore, patient: str, *, purpose: Purpose = Purpose.SERVICE
) -> list[PrescriptionPublic]:
    """A patient's prescriptions, oldest first; none for a subject the department does not know."""
    return [_public(record, contents) for record, contents in store.prescriptions_of(session, patient, purpose)]


# --- paying ---------------------------------------------------------------------------------------


class PaymentClaims(BaseModel):
    """What the wallet's signed confirmation asserts (its signature is checked before this)."""

    model_config = ConfigDict(extra="ignore")

    payment_id: StrictStr = Field(min_length=1, max_length=200)
    payer: StrictStr = Field(min_length=1, max_length=200)
    payee: StrictStr
    reference: StrictStr
    amount_cents: StrictInt = Field(ge=0)
    currency: StrictStr
    idempotency_key: StrictStr

    def fingerprint(self) -> str:
        """Identifies the payment asserted, whatever moment the wallet signed it at."""
        canonical = json.dumps(self.model_dump(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def checked_idempotency_key(value: str | None) -> str:
    if value is None:
        raise IdempotencyKeyMissing()
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidIdempotencyKey()
    return value


def payment_claims(claims: Mapping, *, prescription_id: str, idempotency_key: str) -> PaymentClaims:
    """The confirmation's claims, checked against the request they are presented with."""
    try:
        asserted = PaymentClaims.model_validate(dict(claims))
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in item["loc"]) for item in error.errors()})
        raise InvalidConfirmation(f"missing or malformed claims: {', '.join(fields)}") from None
    for claim, expected in (("payee", SERVICE), ("reference", prescription_id), ("idempotency_key", idempotency_key)):
        if getattr(asserted, claim) != expected:
            raise ConfirmationMismatch(claim)
    return asserted


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
        raise IdempotencyKeyReused()
    return _receipt(existing)


def _replayed_or_already_paid(session: Session, key: str, fingerprint: str, prescription_id: str) -> Receipt:
    existing = _payment_by_key(session, key)
    if existing is None:
        raise AlreadyPaid(prescription_id)
    return _replayed(existing, fingerprint)


def _insert_unless_conflicting(session: Session, values: dict) -> bool:
    """One INSERT that does nothing when the key or the prescription already has a payment, so
    concurrent payments race inside the database's unique indexes. True if inserted."""
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    statement = insert(Payment).values(**values).on_conflict_do_nothing().returning(Payment.id)
    return session.exec(statement).first() is not None


def pay(
    session: Session,
    prescription_id: str,
    claims: Mapping,
    *,
    idempotency_key: str | None,
    confirmation: str,
    now: datetime,
    payer_rule: PayerRule,
) -> tuple[Receipt, bool]:
    """File the wallet's confirmation (already signature-checked) as the payment of a prescription.

    Returns the receipt and whether it was created now. The same key with the same payment
    again is the same receipt; the same key with another payment is a 409, and so is paying a
    prescription already paid under another key. ``payer_rule`` is the regime's: whether the
    confirmation's payer must be the prescription's patient.
    """
    key = checked_idempotency_key(idempotency_key)
    asserted = payment_claims(claims, prescription_id=prescription_id, idempotency_key=key)
    fingerprint = asserted.fingerprint()
    existing = _payment_by_key(session, key)
    if existing is not None:
        return _replayed(existing, fingerprint), False
    record = _get(session, prescription_id)
    if not payer_rule.accepts(asserted.payer, liable=record.patient):
        raise PayerNotPatient()
    for claim, expected in (("amount_cents", record.amount_cents), ("currency", record.currency)):
        if getattr(asserted, claim) != expected:
            raise ConfirmationMismatch(claim)
    if record.status != PrescriptionStatus.ISSUED:
        # paid since the key was looked up: perhaps by this very request, sent twice at once
        return _replayed_or_already_paid(session, key, fingerprint, prescription_id), False
    paid_at = _utc(now)
    receipt_id = new_id("rcpt")
    inserted = _insert_unless_conflicting(
        session,
        {
            "id": receipt_id,
            "prescription_id": prescription_id,
            "idempotency_key": key,
            "fingerprint": fingerprint,
            "payment_id": asserted.payment_id,
            "payer": asserted.payer,
            "amount_cents": asserted.amount_cents,
            "currency": asserted.currency,
            "confirmation": confirmation,
            "paid_at": paid_at,
        },
    )
    if inserted:
        marked = session.exec(
            update(Prescription)
            .where(Prescription.id == prescription_id, Prescription.status == PrescriptionStatus.ISSUED)
            .values(status=PrescriptionStatus.PAID, paid_at=paid_at)
        )
        if marked.rowcount == 1:
            session.commit()
            payment = session.get(Payment, receipt_id)
            assert payment is not None
            return _receipt(payment), True
    # Someone else's payment got there first: the same request (a replay) or another.
    session.rollback()
    return _replayed_or_already_paid(session, key, fingerprint, prescription_id), False


# --- dispensing and delivery ----------------------------------------------------------------------


def _refused_dispensing(record: Prescription) -> Problem | None:
    if record.status == PrescriptionStatus.DISPENSED:
        return AlreadyDispensed(record.id)
    if record.status != PrescriptionStatus.PAID:
        return NotPaid(record.id)
    return None


def dispense(
    session: Session,
    store: PrescriptionStore,
    prescription_id: str,
    order: DispensationCreate,
    *,
    now: datetime,
) -> DispensationPublic:
    """A pharmacy hands a paid prescription over, exactly once however many ask at the same time."""
    order = DispensationCreate.model_validate(order)
    record = _get(session, prescription_id)
    if (refusal := _refused_dispensing(record)) is not None:
        raise refusal
    contents = store.contents_of(session, record, Purpose.DISPENSING)
    dispensed_at = _utc(now)
    claimed = session.exec(
        update(Prescription)
        .where(Prescription.id == prescription_id, Prescription.status == PrescriptionStatus.PAID)
        .values(status=PrescriptionStatus.DISPENSED, dispensed_at=dispensed_at, pharmacy=order.pharmacy)
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise _refused_dispensing(_get(session, prescription_id)) or AlreadyDispensed(prescription_id)
    session.commit()
    return DispensationPublic(
        prescription_id=prescription_id,
        pharmacy=order.pharmacy,
        dispensed_at=dispensed_at,
        medication=contents.medication,
        dose=contents.dose,
        quantity=contents.quantity,
    )


def _refused_delivery(record: Prescription) -> Problem | None:
    if record.parcel_id is not None:
        return DeliveryAlreadyOrdered(record.id)
    if record.status != PrescriptionStatus.DISPENSED:
        return NotDispensed(record.id)
    return None


def request_delivery_consent(session: Session, desk: DeliveryDesk, prescription_id: str) -> DeliveryConsentRequested:
    """Ask the patient to let the courier have her address (rights regime; the platform asks nothing)."""
    record = _get(session, prescription_id)
    if record.parcel_id is not None:
        raise DeliveryAlreadyOrdered(prescription_id)
    return desk.request_consent(record)


def order_delivery(
    session: Session,
    desk: DeliveryDesk,
    prescription_id: str,
    order: DeliveryOrderCreate,
) -> DeliveryOrderPublic:
    """A courier's order for a dispensed prescription: a new opaque parcel id and the address, nothing else.

    The regime's ``desk`` is asked after the checks and before anything is written, so a refused
    consent leaves no order, and the ledger's entry for the disclosure precedes the order."""
    order = DeliveryOrderCreate.model_validate(order)
    record = _get(session, prescription_id)
    if (refusal := _refused_delivery(record)) is not None:
        raise refusal
    ledger_index = desk.before_handover(record)
    parcel = DeliveryOrder(parcel_id=new_id("parcel"), address=order.address)
    session.add(parcel)
    session.flush()
    linked = session.exec(
        update(Prescription)
        .where(
            Prescription.id == prescription_id,
            Prescription.status == PrescriptionStatus.DISPENSED,
            Prescription.parcel_id.is_(None),
        )
        .values(parcel_id=parcel.parcel_id)
    )
    if linked.rowcount != 1:
        session.rollback()
        raise DeliveryAlreadyOrdered(prescription_id)
    session.commit()
    return DeliveryOrderPublic(parcel_id=parcel.parcel_id, address=parcel.address, consent_ledger_index=ledger_index)
