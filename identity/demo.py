"""Demo citizens: the personas, the same people in both regimes. Idempotent."""

from __future__ import annotations

from sqlmodel import Session, select

from identity.enrolment import enrol_citizen
from identity.models import Citizen
from identity.personas import PERSONAS
from kernel.settings import ServiceSettings


def seed_demo(session: Session, settings: ServiceSettings) -> None:
    known = set(session.exec(select(Citizen.handle)).all())
    for persona in PERSONAS:
        if persona.handle not in known:
            enrol_citizen(session, handle=persona.handle, resident_id=persona.resident_id, name=persona.name,
                          phone=persona.phone, address=persona.address, password=persona.password,
                          totp_secret=persona.totp_secret)
