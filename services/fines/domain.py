from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select

from kernel.problems import Problem
from services.fines.models import Fine, Vehicle


class VehicleNotFound(Problem):
    def __init__(self, plate: str) -> None:
        super().__init__(404, f"No vehicle with plate {plate!r} is registered.", kind="vehicle-not-found")


def fines_for_vehicle(session: Session, plate: str) -> Sequence[Fine]:
    fines = session.exec(select(Fine).where(Fine.plate == plate).order_by(Fine.occurred_at)).all()
    # Only an empty answer needs the second query: no fines, or no such vehicle?
    if not fines and session.get(Vehicle, plate) is None:
        raise VehicleNotFound(plate)
    return fines
