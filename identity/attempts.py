"""Guessing limits: a few wrong passwords or codes lock the account for a while; a code works once.

Updates are single conditional statements, so concurrent attempts cannot slip past the
limit or reuse a one-time code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import case, or_, update
from sqlmodel import Session

from identity.models import Citizen, _as_utc
from identity.totp import matching_step

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=5)


def locked_for(citizen: Citizen, now: datetime | None = None) -> timedelta | None:
    if citizen.locked_until is None:
        return None
    left = _as_utc(citizen.locked_until) - (now or datetime.now(UTC))
    return left if left > timedelta(0) else None


def record_failure(session: Session, citizen_id: str) -> None:
    attempts = Citizen.failed_attempts + 1
    session.exec(update(Citizen).where(Citizen.id == citizen_id).values(
        failed_attempts=case((attempts >= MAX_FAILED_ATTEMPTS, 0), else_=attempts),
        locked_until=case((attempts >= MAX_FAILED_ATTEMPTS, datetime.now(UTC) + LOCKOUT), else_=Citizen.locked_until),
    ))
    session.commit()


def record_success(session: Session, citizen_id: str) -> None:
    session.exec(update(Citizen).where(Citizen.id == citizen_id).values(failed_attempts=0, locked_until=None))
    session.commit()


def accept_one_time_code(session: Session, citizen: Citizen, code: str, at: float) -> bool:
    """True once per code: the accepted time step must be later than the last one accepted."""
    step = matching_step(bytes.fromhex(citizen.totp_secret), code.strip(), at)
    if step is None:
        return False
    claimed = session.exec(update(Citizen).where(
        Citizen.id == citizen.id, or_(Citizen.totp_last_step.is_(None), Citizen.totp_last_step < step),
    ).values(totp_last_step=step))
    session.commit()
    return claimed.rowcount == 1
