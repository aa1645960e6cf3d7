"""The hospital and pharmacy's operations on a prescription, without HTTP: each is one transaction,
committed here (paying one: ``services.prescriptions.payments``).

Where a prescription's contents live is the ``store``'s business (``services.prescriptions.stores``);
these functions only say when the contents are needed. Every function that depends on the
time takes ``now``.

Exactly-once rules are the database's: a prescription moves issued → paid → dispensed only by
conditional UPDATEs (``… WHERE status = 'paid'``), a payment row is unique per prescription and
per idempotency key (``payments``), and a prescription gets at most one parcel
(``… WHERE parcel_id IS NULL``). Concurrent requests race inside the database, never between a
read and a write.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from kernel.problems import Problem
from kernel.write_locks import lock_for_writing
from services.prescriptions.delivery import DeliveryConsentRequested, DeliveryDesk
from services.prescriptions.errors import (
    AlreadyDispensed,
    DeliveryAlreadyOrdered,
    NotDispensed,
    NotPaid,
    PrescriptionExists,
    PrescriptionNotFound,
    PrescriptionReferenceConflict,
)
from services.prescriptions.models import (
    CURRENCY,
    DeliveryOrder,
    DeliveryOrderCreate,
    DeliveryOrderPublic,
    DispensationCreate,
    DispensationPublic,
    Prescription,
    PrescriptionContents,
    PrescriptionCreate,
    PrescriptionPublic,
    PrescriptionStatus,
)
from services.prescriptions.stores import PrescriptionStore, Purpose

# --- the record -----------------------------------------------------------------------------------


def new_id(prefix: str) -> str:
    """Opaque and unguessable: a prescription's id says nothing about how many others there are."""
    return f"{prefix}-{secrets.token_hex(8)}"


def as_utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime as now")
    return now.astimezone(UTC)  # SQLite stores the wall clock only, so always store UTC


def get_record(session: Session, prescription_id: str) -> Prescription:
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
    reference: str | None = None,
) -> PrescriptionPublic:
    """A doctor issues a prescription for ``draft.patient``; its contents go where ``store`` keeps them
    (in the rights regime, the patient's pod named by ``draft.pod``). Nothing is kept if that fails.
    ``reference``: the hospital's own, for one issued at the hospital (``issue_once``)."""
    draft = PrescriptionCreate.model_validate(draft)
    prescription_id = prescription_id or new_id("rx")
    if session.get(Prescription, prescription_id) is not None:
        raise PrescriptionExists(prescription_id)
    record = Prescription(
        id=prescription_id,
        reference=reference,
        patient=draft.patient,
        amount_cents=draft.amount_cents,
        currency=CURRENCY,
        issued_at=as_utc(now),
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


def issue_once(
    session: Session, store: PrescriptionStore, draft: PrescriptionCreate, *, reference: str, now: datetime
) -> tuple[PrescriptionPublic, bool]:
    """A doctor at the hospital issues a prescription under the hospital's ``reference``: ``(it, True)`` when
    issued now; ``(it, False)`` when this reference was issued before for the same patient, price and
    contents (in the same pod), nothing issued again; with other details, 409.

    Under the reference's write lock, so concurrent identical requests issue one prescription and deposit
    one document (rights regime: the lock is held while the pod and the consent service are asked)."""
    draft = PrescriptionCreate.model_validate(draft)
    lock_for_writing(session, f"prescriptions.reference:{reference}")
    known = session.exec(select(Prescription).where(col(Prescription.reference) == reference)).first()
    if known is None:
        return issue(session, store, draft, now=now, reference=reference), True
    contents = PrescriptionContents.model_validate(draft.model_dump(include=set(PrescriptionContents.model_fields)))
    kept = store.kept_as(session, known, contents, pod=draft.pod)
    differing = [
        name
        for name, same in (
            ("patient", known.patient == draft.patient),
            ("amount_cents", known.amount_cents == draft.amount_cents),
            ("contents", kept is not None),
        )
        if not same
    ]
    if differing or kept is None:
        session.rollback()
        raise PrescriptionReferenceConflict(reference, differing)
    issued = _public(known, kept)
    session.rollback()
    return issued, False


def prescription(
    session: Session, store: PrescriptionStore, prescription_id: str, *, purpose: Purpose = Purpose.SERVICE
) -> PrescriptionPublic:
    """One prescription, read for ``purpose`` (``PATIENT_VIEW`` only when the patient herself asks)."""
    record = get_record(session, prescription_id)
    return _public(record, store.contents_of(session, record, purpose))


def prescriptions_of(
    session: Session, store: PrescriptionStore, patient: str, *, purpose: Purpose = Purpose.SERVICE
) -> list[PrescriptionPublic]:
    """A patient's prescriptions, oldest first; none for a subject the department does not know."""
    return [_public(record, contents) for record, contents in store.prescriptions_of(session, patient, purpose)]


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
    record = get_record(session, prescription_id)
    if (refusal := _refused_dispensing(record)) is not None:
        raise refusal
    contents = store.contents_of(session, record, Purpose.DISPENSING)
    dispensed_at = as_utc(now)
    claimed = session.exec(
        update(Prescription)
        .where(col(Prescription.id) == prescription_id, col(Prescription.status) == PrescriptionStatus.PAID)
        .values(status=PrescriptionStatus.DISPENSED, dispensed_at=dispensed_at, pharmacy=order.pharmacy)
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise _refused_dispensing(get_record(session, prescription_id)) or AlreadyDispensed(prescription_id)
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
    record = get_record(session, prescription_id)
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
    record = get_record(session, prescription_id)
    if (refusal := _refused_delivery(record)) is not None:
        raise refusal
    ledger_index = desk.before_handover(record)
    parcel = DeliveryOrder(parcel_id=new_id("parcel"), address=order.address)
    session.add(parcel)
    session.flush()
    linked = session.exec(
        update(Prescription)
        .where(
            col(Prescription.id) == prescription_id,
            col(Prescription.status) == PrescriptionStatus.DISPENSED,
            col(Prescription.parcel_id).is_(None),
        )
        .values(parcel_id=parcel.parcel_id)
    )
    if linked.rowcount != 1:
        session.rollback()
        raise DeliveryAlreadyOrdered(prescription_id)
    session.commit()
    return DeliveryOrderPublic(parcel_id=parcel.parcel_id, address=parcel.address, consent_ledger_index=ledger_index)
