"""Guessing limits: a few attempts per account and per source address in a window; a code works once.

Every attempt is counted *before* the secret is checked, in one atomic statement (an upsert
that returns the new count, on SQLite and PostgreSQL alike), and only an attempt whose number
is within the limit is checked at all. So a burst of parallel guesses cannot all be checked
before the first failure is written: the first ``attempts`` of a window are checked, the rest
are refused unchecked — including a right password among them, which therefore cannot lift a
lock the burst itself caused. A success forgets the account's count (it was counted within the
limit, so the account was not locked when it was counted).

Two counts are kept per attempt:
- per account and factor (``password:<citizen>``, ``otp:<citizen>``; an unknown login name is
  counted like an account, so a lock says nothing about whether the name exists);
- per source address (an IPv6 address by its /64): counted first, and a throttled source's
  attempts are not counted against any account, so one address cannot lock more than a few
  accounts per window. A success refunds its source's attempt, so people behind one address who
  type their passwords right are never throttled by each other.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from identity.models import Citizen, GuessCount, _as_utc
from identity.totp import matching_step
from kernel.database import UtcDateTime


@dataclass(frozen=True)
class Limit:
    attempts: int  # checked per window; more are refused unchecked
    window: timedelta  # from the first attempt; restarted when the limit is reached (the lock)


ACCOUNT_LIMIT = Limit(attempts=5, window=timedelta(minutes=5))
SOURCE_LIMIT = Limit(attempts=20, window=timedelta(minutes=15))
# rows whose window ended this long ago are removed as new attempts come in
FORGET_AFTER = timedelta(days=1)
# INSERT … ON CONFLICT DO UPDATE, as each database spells it
_UPSERTING_INSERT: dict[str, Callable[..., postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def password_key(citizen_id: str) -> str:
    return f"password:{citizen_id}"


def unknown_name_key(username: str) -> str:
    # hashed: the table then holds no list of what strangers typed (mistyped passwords included)
    return f"password:unknown:{hashlib.sha256(username.encode()).hexdigest()}"


def one_time_code_key(citizen_id: str) -> str:
    return f"otp:{citizen_id}"


def source_key(address: str | None) -> str:
    """The source an attempt is counted against: the client address, an IPv6 one by its /64
    (one subscriber's allocation, which its holder can otherwise cycle through at will)."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return "source:unknown"
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return f"source:{parsed.ipv4_mapped}"
        return f"source:{ipaddress.ip_network(f'{parsed}/64', strict=False)}"
    return f"source:{parsed}"


def count_attempt(session: Session, key: str, limit: Limit, now: datetime) -> timedelta | None:
    """Counts one attempt at ``key`` (committed at once, so parallel attempts see it): None if it
    may be checked, else how long until attempts are allowed again."""
    ends = literal(now + limit.window, UtcDateTime())
    window_over = col(GuessCount.window_ends) <= literal(now, UtcDateTime())
    counted = col(GuessCount.attempts) + 1
    insert = _UPSERTING_INSERT[session.get_bind().dialect.name]
    statement = (
        insert(GuessCount)
        .values(key=key, attempts=1, window_ends=now + limit.window)
        .on_conflict_do_update(
            index_elements=[GuessCount.key],
            set_={
                "attempts": case((window_over, 1), else_=counted),
                # reaching the limit starts the lock's full length; attempts past it do not prolong it
                "window_ends": case(
                    (window_over, ends), (counted == limit.attempts, ends), else_=GuessCount.window_ends
                ),
            },
        )
        .returning(col(GuessCount.attempts), col(GuessCount.window_ends))
    )
    attempts, window_ends = session.execute(statement).one()
    session.exec(delete(GuessCount).where(col(GuessCount.window_ends) < now - FORGET_AFTER))
    session.commit()
    if attempts <= limit.attempts:
        return None
    return max(_as_utc(window_ends) - now, timedelta(seconds=1))


def count_attempts(session: Session, source: str, account: str, now: datetime) -> timedelta | None:
    """The source first: a throttled source's attempt is not counted against the account."""
    return count_attempt(session, source, SOURCE_LIMIT, now) or count_attempt(session, account, ACCOUNT_LIMIT, now)


def record_success(session: Session, source: str, account: str) -> None:
    """The account's count is forgotten; the source gets its attempt back."""
    session.exec(delete(GuessCount).where(col(GuessCount.key) == account))
    session.exec(
        update(GuessCount)
        .where(col(GuessCount.key) == source, col(GuessCount.attempts) > 0)
        .values(attempts=col(GuessCount.attempts) - 1)
    )
    session.commit()


def accept_one_time_code(session: Session, citizen: Citizen, code: str, at: float) -> bool:
    """True once per code: the accepted time step must be later than the last one accepted."""
    step = matching_step(bytes.fromhex(citizen.totp_secret), code.strip(), at)
    if step is None:
        return False
    claimed = session.exec(
        update(Citizen)
        .where(
            col(Citizen.id) == citizen.id,
            or_(col(Citizen.totp_last_step).is_(None), col(Citizen.totp_last_step) < step),
        )
        .values(totp_last_step=step)
    )
    session.commit()
    return claimed.rowcount == 1
