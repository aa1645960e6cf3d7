"""Demo citizens: the personas, the same people in both regimes. Idempotent."""

from __future__ import annotations

import functools

from sqlmodel import Session, select

from identity.enrolment import enrol_citizen
from identity.models import Citizen
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
