"""Demo citizens: the personas, the same people in both regimes. Idempotent."""

from __future__ import annotations

from sqlmodel import Session, select

from identity.enrolment import enrol_citizen
from identity.models import Citizen
from identity.passwords import hash_password
from identity.policy import IdentityPolicy
from kernel.personas import PERSONAS
from kernel.settings import ServiceSettings


def seed_demo(session: Session, settings: ServiceSettings, *, policy: IdentityPolicy) -> None:
    known = set(session.exec(select(Citizen.handle)).all())
    # Every persona has the one published demo password: hash it once (scrypt is slow on purpose,
    # and a shared salt reveals nothing that the workshop handout does not already say).
    hashes: dict[str, str] = {}
    for persona in PERSONAS:
        if persona.handle not in known:
            if persona.password not in hashes:
                hashes[persona.password] = hash_password(persona.password)
            enrol_citizen(
                session,
                policy=policy,
                handle=persona.handle,
                resident_id=persona.resident_id,
                name=persona.name,
                phone=persona.phone,
                address=persona.address,
                password_hash=hashes[persona.password],
                totp_secret=persona.totp_secret,
            )
