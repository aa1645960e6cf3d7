"""The citizen's own API: their fines, with the token their app holds for the traffic police
(``kernel.citizens``), reached directly or through the super-app's blind courier (``kernel.courier``).

The citizen is the token's ``sub``: the subject the transport sector knows them by, the same
value the vehicle registry keeps as the owner. Another citizen's fine is "not found", as an
unknown one is, so its existence is not confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from kernel.bounds import RowId
from kernel.citizens import CurrentCitizen
from kernel.dependencies import NowDep, SessionDep, read_and_release
from kernel.problems import problem_responses
from services.fines.domain import china_date, citizens_fines, get_fine, public_fine
from services.fines.errors import FineNotFound
from services.fines.models import FinePublic, Vehicle

router = APIRouter(prefix="/me", tags=["the citizen's own"])


@router.get("/fines", summary="My fines, across all my vehicles, oldest first")
async def my_fines(citizen: CurrentCitizen, session: SessionDep, now: NowDep) -> Sequence[FinePublic]:
    today = china_date(now)  # through the courier on every rights journey: one thread hand-off, not three
    return await read_and_release(session, lambda: citizens_fines(session, citizen.subject, today))


@router.get("/fines/{fine_id}", summary="One of my fines", responses=problem_responses(FineNotFound))
def my_fine(fine_id: RowId, citizen: CurrentCitizen, session: SessionDep, now: NowDep) -> FinePublic:
    fine = get_fine(session, fine_id)
    vehicle = session.get(Vehicle, fine.plate)
    if vehicle is None or vehicle.owner_ref != citizen.subject:
        raise FineNotFound(fine_id)
    return public_fine(fine, china_date(now))
