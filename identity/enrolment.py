"""Enrolling a citizen with the provider: the resident ID is checked before anything is written.

The citizen's subject in every sector is indexed in the same transaction (``identity.subject_index``).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import or_
from sqlmodel import Session, col, select

from identity.errors import AlreadyEnrolled, ResidentIdRefused
from identity.models import Citizen
from identity.passwords import hash_password
from identity.policy import IdentityPolicy
from identity.subject_index import index_citizen
from kernel.resident_id import InvalidResidentId, parse_resident_id


def enrol_citizen(
    session: Session,
    *,
    policy: IdentityPolicy,
    handle: str,
    resident_id: str,
    name: str,
    phone: str,
    address: str,
    password: str | None = None,
    password_hash: str | None = None,
    totp_secret: bytes,
    today: date | None = None,
) -> Citizen:
    """Enrol a citizen; give ``password`` (hashed here) or an already computed ``password_hash``."""
    if (password is None) == (password_hash is None):
        raise ValueError("give exactly one of password and password_hash")
    try:
        parsed = parse_resident_id(resident_id, today=today)
    except InvalidResidentId as error:
        raise ResidentIdRefused(str(error)) from error
    taken = session.exec(
        select(Citizen.id).where(
            or_(col(Citizen.resident_id) == parsed.value, col(Citizen.phone) == phone, col(Citizen.handle) == handle)
        )
    ).first()
    if taken is not None:
        raise AlreadyEnrolled("A citizen with this resident ID, phone or login name is already enrolled.")
    if password_hash is None:
        assert password is not None  # exactly one of the two was given
        password_hash = hash_password(password)
    citizen = Citizen(
        # a random local account id: pairwise pseudonyms derive from it, never from the resident ID
        id=str(uuid.uuid4()),
        handle=handle,
        resident_id=parsed.value,
        name=name,
        phone=phone,
        birth_date=parsed.birth_date,
        address=address,
        password_hash=password_hash,
        totp_secret=totp_secret.hex(),
    )
    session.add(citizen)
    session.flush()
    index_citizen(session, policy, citizen)
    return citizen
