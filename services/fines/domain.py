"""The traffic police's operations on fines, without HTTP (paying one: ``services.fines.payments``).

Every function that depends on the date or time takes ``today`` / ``now``, so a test (or a
workshop) moves the clock instead of waiting. Every writing operation is one transaction,
committed here; on any refusal nothing of it is written. (The demo seed writes a car and its
fines in one transaction of its own with ``add_vehicle`` and ``add_fine``, the same rules.)

Overdue. A fine is *overdue* when it is unpaid and today (China Standard Time) is after its
due date. That one predicate (``status_on``) is what every answer of the API shows, so no
answer ever lags. The stored ``status`` column catches up in ``mark_overdue_fines`` (the sweep
the background worker runs), and only that state change — one conditional UPDATE per fine —
is what the regime's credit-reporting policy hangs its outbox entry on, in the same
transaction. A fine paid before the sweep reached it was never "overdue" in the stored sense
and is never reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import update
from sqlmodel import Session, col, select

from kernel.write_locks import lock_for_writing
from services.fines.credit_reporting import CreditReporting
from services.fines.errors import (
    FineNotFound,
    FineReferenceConflict,
    PlateRegisteredToAnother,
    VehicleNotFound,
    VehicleNotRegistered,
)
from services.fines.models import Fine, FineCreate, FinePublic, FineStatus, Vehicle

# What makes two records of one reference the same fine (a repeated camera upload, not a second offence).
RECORDED_DETAILS = ("plate", "offence", "place", "occurred_at", "amount_cents", "due_date", "source")

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def china_date(now: datetime) -> date:
    """The calendar day in Guangzhou at ``now``: due dates are local days."""
    return now.astimezone(CHINA_STANDARD_TIME).date()


def overdue_since(fine: Fine) -> datetime:
    """The moment a fine falls overdue: midnight (CST) at the end of its due date."""
    return datetime.combine(fine.due_date + timedelta(days=1), time(0), CHINA_STANDARD_TIME)


# --- reading ------------------------------------------------------------------------------------


def status_on(fine: Fine, today: date) -> FineStatus:
    """The fine's status as of ``today``: the one rule for "overdue", whether or not the sweep has run."""
    if fine.status == FineStatus.PAID:
        return FineStatus.PAID
    return FineStatus.OVERDUE if today > fine.due_date else FineStatus.UNPAID


def public_fine(fine: Fine, today: date) -> FinePublic:
    return FinePublic.model_validate(fine, update={"status": status_on(fine, today)})


def fines_for_vehicle(session: Session, plate: str) -> Sequence[Fine]:
    fines = session.exec(select(Fine).where(Fine.plate == plate).order_by(col(Fine.occurred_at), col(Fine.id))).all()
    # Only an empty answer needs the second query: no fines, or no such vehicle?
    if not fines and session.get(Vehicle, plate) is None:
        raise VehicleNotFound(plate)
    return fines


def fines_for_citizen(session: Session, subject: str) -> Sequence[Fine]:
    """Every fine on every vehicle registered to ``subject``, oldest first. A subject with no
    vehicle simply has none: the answer does not tell whether the department knows them."""
    return session.exec(
        select(Fine).join(Vehicle).where(Vehicle.owner_ref == subject).order_by(col(Fine.occurred_at), col(Fine.id))
    ).all()


def citizens_fines(session: Session, subject: str, today: date) -> list[FinePublic]:
    """``subject``'s fines as answered (their status on ``today``)."""
    return [public_fine(fine, today) for fine in fines_for_citizen(session, subject)]


def owner_of(session: Session, fine: Fine) -> str:
    """Whoever the fined vehicle is registered to (a fine's vehicle always exists: a foreign key)."""
    vehicle = session.get(Vehicle, fine.plate)
    assert vehicle is not None
    return vehicle.owner_ref


def get_fine(session: Session, fine_id: int) -> Fine:
    fine = session.get(Fine, fine_id)
    if fine is None:
        raise FineNotFound(fine_id)
    return fine


# --- recording (the vehicle registry and the cameras: services.fines.operator_routes; the demo seed) ----


def register_vehicle(session: Session, plate: str, owner_ref: str) -> tuple[Vehicle, bool]:
    """The vehicle registry registers ``plate`` to ``owner_ref``: ``(vehicle, True)`` when registered
    now, ``(vehicle, False)`` when it already was, to the same owner. To another: 409. One transaction."""
    lock_for_writing(session, f"fines.plate:{plate}")
    registered = add_vehicle(session, plate, owner_ref)
    session.commit()
    return registered


def add_vehicle(session: Session, plate: str, owner_ref: str) -> tuple[Vehicle, bool]:
    """``register_vehicle`` within the caller's transaction (flushed, not committed): the demo seed
    registers a car and records its fines at once."""
    vehicle = session.get(Vehicle, plate)
    if vehicle is not None:
        if vehicle.owner_ref != owner_ref:
            session.rollback()
            raise PlateRegisteredToAnother(plate)
        return vehicle, False
    vehicle = Vehicle(plate=plate, owner_ref=owner_ref)
    session.add(vehicle)
    session.flush()  # a fine recorded next references the vehicle row
    return vehicle, True


def record_fine(session: Session, fine: FineCreate, *, reference: str | None = None) -> tuple[Fine, bool]:
    """A camera or a parking warden records an offence against a registered vehicle: ``(fine, True)``
    when recorded now; ``(fine, False)`` when ``reference`` was recorded before with the same details
    (nothing changed); with other details, 409. One transaction, under the reference's write lock."""
    lock_for_writing(session, f"fines.reference:{reference}" if reference else f"fines.plate:{fine.plate}")
    recorded = add_fine(session, fine, reference=reference)
    session.commit()
    return recorded


def add_fine(session: Session, fine: FineCreate, *, reference: str | None = None) -> tuple[Fine, bool]:
    """``record_fine`` within the caller's transaction (flushed, not committed)."""
    fine = FineCreate.model_validate(fine)
    if reference is not None:
        known = session.exec(select(Fine).where(col(Fine.reference) == reference)).first()
        if known is not None:
            differing = [name for name in RECORDED_DETAILS if getattr(known, name) != getattr(fine, name)]
            if differing:
                session.rollback()
                raise FineReferenceConflict(reference, differing)
            return known, False
    if session.get(Vehicle, fine.plate) is None:
        session.rollback()
        raise VehicleNotRegistered(fine.plate)
    # the instant as it is stored and read back (UTC), so this answer is the one every later read gives
    row = Fine.model_validate(fine, update={"reference": reference, "occurred_at": fine.occurred_at.astimezone(UTC)})
    session.add(row)
    session.flush()
    return row, True


# --- the overdue sweep --------------------------------------------------------------------------


def mark_overdue_fines(session: Session, *, now: datetime, reporting: CreditReporting) -> list[Fine]:
    """Store "overdue" on every unpaid fine past its due date, and let the regime's policy write
    what it reports (an outbox entry, or nothing) in the same transaction. Returns the fines marked.

    Each change is a conditional UPDATE (still unpaid), so a payment committed meanwhile wins and
    that fine is neither marked nor reported; running the sweep twice marks nothing twice.
    """
    today = china_date(now)
    candidates = session.exec(
        select(Fine.id).where(Fine.status == FineStatus.UNPAID, Fine.due_date < today).order_by(col(Fine.id))
    ).all()
    marked: list[Fine] = []
    for fine_id in candidates:
        changed = session.exec(
            update(Fine)
            .where(col(Fine.id) == fine_id, col(Fine.status) == FineStatus.UNPAID)
            .values(status=FineStatus.OVERDUE)
        ).rowcount
        if not changed:
            continue
        fine = session.get(Fine, fine_id)
        assert fine is not None
        session.refresh(fine)
        owner_ref = owner_of(session, fine)
        reporting.fine_became_overdue(session, fine, owner_ref, overdue_at=overdue_since(fine), now=now)
        marked.append(fine)
    session.commit()
    return marked
