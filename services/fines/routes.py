from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from kernel.database import SessionDep
from kernel.tokens import caller_with
from services.fines.domain import fines_for_vehicle
from services.fines.models import Fine, FinePublic

router = APIRouter(tags=["fines"])


@router.get("/vehicles/{plate}/fines", summary="Fines recorded against a vehicle")
def list_vehicle_fines(plate: str, session: SessionDep, caller: caller_with("fines:read")) -> Sequence[FinePublic]:
    fines: Sequence[Fine] = fines_for_vehicle(session, plate)
    return [FinePublic.model_validate(fine) for fine in fines]
