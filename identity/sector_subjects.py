"""A department's own subject for a citizen it has identified in person (e.g. at a registration desk).

The department shows the resident ID it has just checked and learns the subject its sector
knows the citizen by — the resident ID itself in the platform regime, its sector's pseudonym
in the rights regime — so it can store that and forget the resident ID. It can never learn
another sector's pseudonym: the sector comes from the caller's token, not from the request.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlmodel import select

from identity.models import Citizen
from identity.profiles import UnknownRelyingParty
from identity.resident_id import InvalidResidentId, parse_resident_id
from kernel.database import SessionDep
from kernel.problems import Problem
from kernel.tokens import caller_with

router = APIRouter(tags=["service endpoints"])


class SectorSubjectRequest(BaseModel):
    resident_id: str


class SectorSubject(BaseModel):
    subject: str


@router.post("/sector-subjects", summary="The calling department's subject for a citizen it has identified")
def sector_subject(request: Request, body: SectorSubjectRequest, session: SessionDep,
                   caller: caller_with("identity:sector-subject")) -> SectorSubject:
    try:
        resident_id = parse_resident_id(body.resident_id).value
    except InvalidResidentId as error:
        raise Problem(422, str(error), kind="invalid-resident-id") from error
    citizen = session.exec(select(Citizen).where(Citizen.resident_id == resident_id)).first()
    if citizen is None:
        raise Problem(404, "No citizen with this resident ID is enrolled.", kind="citizen-not-found")
    try:
        return SectorSubject(subject=request.app.state.token_server.profile.subject_for(citizen, caller.client_id))
    except UnknownRelyingParty as error:
        raise Problem(403, f"{caller.client_id} belongs to no sector.", kind="no-sector") from error
