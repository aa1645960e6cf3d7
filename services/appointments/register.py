"""The marriage register: who is married to whom, so a divorce names the spouse itself."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_
from sqlmodel import Session, col, select

from services.appointments.models import Marriage


def current_marriage(session: Session, subject: str) -> Marriage | None:
    return session.exec(
        select(Marriage).where(
            or_(col(Marriage.spouse_a) == subject, col(Marriage.spouse_b) == subject),
            col(Marriage.dissolved_on).is_(None),
        )
    ).first()


def register_marriage(session: Session, spouse_a: str, spouse_b: str, registered_on: date) -> Marriage:
    """Record a marriage (demo seeds and tests; the bureau's desk, not the API). Idempotent."""
    existing = session.exec(
        select(Marriage).where(
            or_(
                (col(Marriage.spouse_a) == spouse_a) & (col(Marriage.spouse_b) == spouse_b),
                (col(Marriage.spouse_a) == spouse_b) & (col(Marriage.spouse_b) == spouse_a),
            )
        )
    ).first()
    if existing is not None:
        return existing
    marriage = Marriage(spouse_a=spouse_a, spouse_b=spouse_b, registered_on=registered_on)
    session.add(marriage)
    session.flush()
    return marriage


def spouse_in(marriage: Marriage, subject: str) -> str:
    return marriage.spouse_b if marriage.spouse_a == subject else marriage.spouse_a
