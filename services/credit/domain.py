"""The credit platform's operations, without HTTP: each is one transaction, committed here.

Every function that depends on the time takes ``now``, so the settlement lag can be shown
(and tested) without waiting for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from kernel.resident_id import InvalidResidentId, parse_resident_id
from services.credit.errors import ConflictingRecord, InvalidSubject, NotTheSource, RecordNotFound
from services.credit.models import CreditRecord, CreditRecordCreate, RestrictionReason, RestrictionsPublic, as_utc
from services.credit.rules import RestrictedService, rules_for

# INSERT ... ON CONFLICT DO NOTHING, in each dialect the platform runs on
_INSERT: dict[str, Callable[[type[CreditRecord]], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def normalised_subject(subject: str) -> str:
    """The resident ID as the platform keys on it (check character upper-case), or 422."""
    try:
        return parse_resident_id(subject).value
    except InvalidResidentId as error:
        raise InvalidSubject(str(error)) from None


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime as now")
    return now.astimezone(UTC)  # SQLite stores the wall clock only, so always store UTC


def _find(session: Session, source: str, reference: str) -> CreditRecord | None:
    return session.exec(
        select(CreditRecord).where(col(CreditRecord.source) == source, col(CreditRecord.reference) == reference)
    ).first()


def _insert_unless_reported(session: Session, values: dict[str, Any]) -> bool:
    """One INSERT that does nothing when (source, reference) exists: concurrent identical pushes
    race inside the database's unique index, never between a read and a write. True if inserted."""
    dialect = session.get_bind().dialect.name
    insert = _INSERT[dialect]
    statement = (
        insert(CreditRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[col(CreditRecord.source), col(CreditRecord.reference)])
        .returning(col(CreditRecord.id))
    )
    return session.exec(statement).first() is not None


def push_record(
    session: Session, record: CreditRecordCreate, *, source: str, now: datetime
) -> tuple[CreditRecord, bool]:
    """Record what ``source`` reports; the same (source, reference) again is the existing record.

    Returns the record and whether it was created now. The same reference reported with other
    details (subject, kind, amount) is a 409: the platform never silently keeps either version.
    """
    subject = normalised_subject(record.subject)
    values = record.model_dump() | {"subject": subject, "source": source, "recorded_at": _utc(now)}
    created = _insert_unless_reported(session, values)
    stored = _find(session, source, record.reference)
    assert stored is not None  # inserted now, or the row the insert ran into
    if (stored.subject, stored.kind, stored.amount_cents) != (subject, record.kind, record.amount_cents):
        session.rollback()
        raise ConflictingRecord(stored)
    session.commit()
    return stored, created


def settle_record(
    session: Session,
    *,
    source: str,
    reference: str,
    settled_by: str,
    lag: timedelta,
    now: datetime,
) -> CreditRecord:
    """``settled_by`` reports the debt behind its record settled; it stops restricting at ``now + lag``.

    Only the record's own source may settle it (checked before looking the record up, so a
    department cannot probe another's references). Settling again changes nothing.
    """
    if settled_by != source:
        raise NotTheSource(settled_by, source)
    record = _find(session, source, reference)
    if record is None:
        raise RecordNotFound(source, reference)
    settled_at = _utc(now)
    # Conditional, so a concurrent second settlement cannot move the first one's times.
    session.exec(
        update(CreditRecord)
        .where(col(CreditRecord.id) == record.id, col(CreditRecord.settled_at).is_(None))
        .values(settled_at=settled_at, effective_at=settled_at + lag)
    )
    session.commit()
    session.refresh(record)
    return record


def is_active(record: CreditRecord, now: datetime) -> bool:
    """A record restricts until its settlement is effective, not from the moment it is paid."""
    return record.effective_at is None or as_utc(record.effective_at) > _utc(now)


def restrictions(session: Session, subject: str, service: RestrictedService, *, now: datetime) -> RestrictionsPublic:
    """Is ``subject`` blacklisted for ``service``, and by which records? An unknown subject is not."""
    subject = normalised_subject(subject)
    measures = rules_for(service)
    records = session.exec(
        select(CreditRecord)
        .where(
            col(CreditRecord.subject) == subject,
            col(CreditRecord.kind).in_(list(measures)),
            or_(col(CreditRecord.effective_at).is_(None), col(CreditRecord.effective_at) > _utc(now)),
        )
        .order_by(col(CreditRecord.recorded_at), col(CreditRecord.id))
    ).all()
    reasons = [
        RestrictionReason.model_validate(record, update={"measure": measures[record.kind]}) for record in records
    ]
    return RestrictionsPublic(subject=subject, service=service, restricted=bool(reasons), reasons=reasons)
