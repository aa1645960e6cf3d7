"""The marriage register: who is married to whom, so a divorce names the spouse itself.

The civil affairs bureau's own register desk writes it (``services.appointments.operator_routes``:
``record_marriage``), as the demo seed does (``register_marriage`` within the seed's transaction).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_
from sqlmodel import Session, col, select

from kernel.write_locks import lock_for_writing
from services.appointments.errors import AlreadyMarried, MarriageRecordedOtherwise
from services.appointments.models import Marriage


def current_marriage(session: Session, subject: str) -> Marriage | None:
    return session.exec(
        select(Marriage).where(
            or_(col(Marriage.spouse_a) == subject, col(Marriage.spouse_b) == subject),
            col(Marriage.dissolved_on).is_(None),
        )
    ).first()


def record_marriage(session: Session, spouse_a: str, spouse_b: str, registered_on: date) -> tuple[Marriage, bool]:
    """The register desk records a marriage: one transaction, under both spouses' write locks, so two
    concurrent registrations naming one person cannot both find them unmarried (``register_marriage``)."""
    lock_for_writing(session, f"appointments.spouse:{spouse_a}", f"appointments.spouse:{spouse_b}")
    recorded = register_marriage(session, spouse_a, spouse_b, registered_on)
    session.commit()
    return recorded


def register_marriage(session: Session, spouse_a: str, spouse_b: str, registered_on: date) -> tuple[Marriage, bool]:
    """Record a marriage within the caller's transaction (flushed, not committed): ``(marriage, True)``
    when recorded now, ``(marriage, False)`` when this couple's marriage of ``registered_on`` is on
    record already (in either order). This couple on another date: ``MarriageRecordedOtherwise``; either
    spouse married to someone else: ``AlreadyMarried`` (409 both, nothing written)."""
    if spouse_a == spouse_b:
        raise ValueError("a marriage has two spouses")
    existing = session.exec(
        select(Marriage).where(
            or_(
                (col(Marriage.spouse_a) == spouse_a) & (col(Marriage.spouse_b) == spouse_b),
                (col(Marriage.spouse_a) == spouse_b) & (col(Marriage.spouse_b) == spouse_a),
            )
        )
    ).first()
    if existing is not None:
        if existing.registered_on != registered_on:
            session.rollback()
            raise MarriageRecordedOtherwise(existing.registered_on)
        return existing, False
    for role, subject in (("first spouse", spouse_a), ("second spouse", spouse_b)):
        if current_marriage(session, subject) is not None:
            session.rollback()
            raise AlreadyMarried(role)
    marriage = Marriage(spouse_a=spouse_a, spouse_b=spouse_b, registered_on=registered_on)
    session.add(marriage)
    session.flush()
    return marriage, True


def spouse_in(marriage: Marriage, subject: str) -> str:
    return marriage.spouse_b if marriage.spouse_a == subject else marriage.spouse_a
