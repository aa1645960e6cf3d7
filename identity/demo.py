"""Demo citizens: the personas, the same people in both regimes. Idempotent."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from identity.models import Citizen
from identity.passwords import hash_password
from identity.personas import PERSONAS
from kernel.settings import ServiceSettings


def seed_demo(session: Session, settings: ServiceSettings) -> None:
    known = set(session.exec(select(Citizen.handle)).all())
    for persona in PERSONAS:
        if persona.handle in known:
            continue
        session.add(Citizen(
            # a random local account id: the pairwise pseudonyms derive from it, never from the resident ID
            id=str(uuid.uuid4()), handle=persona.handle, resident_id=persona.resident_id, name=persona.name,
            phone=persona.phone, birth_date=persona.birth_date, address=persona.address,
            password_hash=hash_password(persona.password), totp_secret=persona.totp_secret.hex(),
        ))
