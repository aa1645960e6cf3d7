"""Demo citizens: the personas, the same people in both regimes. Idempotent."""

from __future__ import annotations

import functools

from sqlalchemy import delete
from sqlmodel import Session, col, select

from identity.attempts import one_time_code_key, password_key
from identity.enrolment import enrol_citizen
from identity.models import Citizen, GuessCount
from identity.passwords import hash_password
from identity.policy import IdentityPolicy
from kernel.personas import PERSONAS
from kernel.settings import ServiceSettings


@functools.cache
def demo_password_hash(password: str) -> str:
    """Every persona has the one published demo password: hashed once per process (scrypt is slow on
    purpose, ~40 ms here, and every demo seed of every test's services would pay it), and a salt shared
    by the personas reveals nothing the workshop handout does not already say."""
    return hash_password(password)


def seed_demo(session: Session, settings: ServiceSettings, *, policy: IdentityPolicy) -> None:
    known = set(session.exec(select(Citizen.handle)).all())
    for persona in PERSONAS:
        if persona.handle not in known:
            enrol_citizen(
                session,
                policy=policy,
                handle=persona.handle,
                resident_id=persona.resident_id,
                name=persona.name,
                phone=persona.phone,
                address=persona.address,
                password_hash=demo_password_hash(persona.password),
                totp_secret=persona.totp_secret,
            )


# --- replaying: POST /demo/reset (kernel.demo_reset) -------------------------------------------------------


def reset_demo(session: Session, settings: ServiceSettings, *, policy: IdentityPolicy) -> dict[str, int]:
    """In the caller's transaction: the personas' guess counts cleared (a facilitator who mistyped is not
    locked out for the next group) and any persona missing enrolled again. What keeps codes single-use
    (``totp_last_step``) stays: resetting it would let an observed code be replayed."""
    citizens = session.exec(select(Citizen.id).where(col(Citizen.handle).in_([p.handle for p in PERSONAS]))).all()
    keys = [key for citizen in citizens for key in (password_key(citizen), one_time_code_key(citizen))]
    cleared = session.exec(delete(GuessCount).where(col(GuessCount.key).in_(keys))).rowcount
    enrolled = len(PERSONAS) - len(citizens)
    seed_demo(session, settings, policy=policy)
    return {"lock-outs cleared": cleared, "personas enrolled again": enrolled}
