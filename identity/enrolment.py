"""Enrolling a citizen with the provider: the resident ID is checked before anything is written.

The citizen's subject in every sector is indexed in the same transaction (``identity.subject_index``).

``enrol_once`` is the household registration office's desk (``identity.operator_routes``): the same
enrolment again changes nothing, a handle, phone or resident ID already enrolled for someone else is
refused, and concurrent enrolments of the same person make one citizen (``kernel.write_locks``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_
from sqlmodel import Session, col, select

from identity.errors import AlreadyEnrolled, ResidentIdRefused
from identity.models import Citizen
from identity.passwords import hash_password, verify_password
from identity.policy import IdentityPolicy
from identity.subject_index import index_citizen
from kernel.resident_id import InvalidResidentId, ResidentId, parse_resident_id
from kernel.write_locks import lock_for_writing


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
    parsed = checked_resident_id(resident_id, today)
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


def checked_resident_id(resident_id: str, today: date | None = None) -> ResidentId:
    """The resident ID parsed, or ``ResidentIdRefused`` (422) saying what is wrong with it."""
    try:
        return parse_resident_id(resident_id, today=today)
    except InvalidResidentId as error:
        raise ResidentIdRefused(str(error)) from error


@dataclass(frozen=True)
class Enrolment:
    """What the registration office enrols a resident with (its password in clear, hashed on enrolment)."""

    handle: str
    resident_id: str
    name: str
    phone: str
    address: str
    password: str
    totp_secret: bytes


def enrol_once(
    session: Session, *, policy: IdentityPolicy, enrolment: Enrolment, today: date | None = None
) -> tuple[Citizen, bool]:
    """Enrol ``enrolment`` unless it is enrolled already: ``(citizen, True)`` when enrolled now,
    ``(citizen, False)`` when exactly this enrolment was (nothing changed). A handle, phone or resident
    ID enrolled for someone else, or this person with other details, is ``AlreadyEnrolled`` (409).

    The password is hashed (scrypt: slow on purpose) before the write lock is taken, so concurrent
    enrolments wait for one another's write, not for one another's hashing; the decision is taken
    again under the lock, where one of concurrent identical enrolments writes and the others find it.
    """
    resident_id = checked_resident_id(enrolment.resident_id, today).value
    if (known := _enrolled_under(session, enrolment, resident_id)) is not None:
        session.rollback()
        return _the_same(known, enrolment, resident_id), False
    password_hash = hash_password(enrolment.password)
    session.rollback()  # the lock must begin the transaction that writes
    lock_for_writing(
        session,
        f"identity.handle:{enrolment.handle}",
        f"identity.resident-id:{resident_id}",
        f"identity.phone:{enrolment.phone}",
    )
    if (known := _enrolled_under(session, enrolment, resident_id)) is not None:
        session.rollback()
        return _the_same(known, enrolment, resident_id), False
    citizen = enrol_citizen(
        session,
        policy=policy,
        handle=enrolment.handle,
        resident_id=resident_id,
        name=enrolment.name,
        phone=enrolment.phone,
        address=enrolment.address,
        password_hash=password_hash,
        totp_secret=enrolment.totp_secret,
        today=today,
    )
    session.commit()
    return citizen, True


def _enrolled_under(session: Session, enrolment: Enrolment, resident_id: str) -> list[Citizen] | None:
    """Every citizen holding this enrolment's handle, resident ID or phone; None when nobody does."""
    known = session.exec(
        select(Citizen).where(
            or_(
                col(Citizen.handle) == enrolment.handle,
                col(Citizen.resident_id) == resident_id,
                col(Citizen.phone) == enrolment.phone,
            )
        )
    ).all()
    return list(known) or None


def _the_same(known: list[Citizen], enrolment: Enrolment, resident_id: str) -> Citizen:
    """The citizen enrolled exactly as ``enrolment`` asks, or ``AlreadyEnrolled`` saying what clashes."""
    others = [citizen for citizen in known if (citizen.handle, citizen.resident_id) != (enrolment.handle, resident_id)]
    if others:
        taken = sorted(
            {
                name
                for citizen in others
                for name, same in (
                    ("handle", citizen.handle == enrolment.handle),
                    ("resident_id", citizen.resident_id == resident_id),
                    ("phone", citizen.phone == enrolment.phone),
                )
                if same
            }
        )
        raise AlreadyEnrolled(f"Already enrolled for someone else: {', '.join(taken)}.", taken=taken)
    [citizen] = known  # handle and resident ID are each unique: one citizen holds both
    differing = [
        name
        for name, same in (
            ("name", citizen.name == enrolment.name),
            ("phone", citizen.phone == enrolment.phone),
            ("address", citizen.address == enrolment.address),
            ("totp_secret", citizen.totp_secret == enrolment.totp_secret.hex()),
        )
        if not same
    ]
    # last, and only when all else agrees: checking the password is a deliberately slow hash
    if not differing and not verify_password(enrolment.password, citizen.password_hash):
        differing.append("password")
    if differing:
        raise AlreadyEnrolled(
            f"This resident is enrolled with other details ({', '.join(differing)}); enrolling again changes nothing.",
            differing=differing,
        )
    return citizen
