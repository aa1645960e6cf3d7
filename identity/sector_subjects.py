"""A service's own subject for a citizen: learnt from a resident ID, or linked from another sector's subject.

``POST /sector-subjects`` — a department shows the resident ID it has just checked (e.g. at a
registration desk) and learns the subject its sector knows the citizen by — the resident ID
itself in the platform regime, its sector's pseudonym in the rights regime — so it can store
that and forget the resident ID. It can never learn another sector's pseudonym: the sector
comes from the caller's token, not from the request.

``POST /sector-subjects/links`` — the consent ledger (alone: ``identity:subject-link``) shows a
citizen every event about them, whichever sector's pseudonym it was recorded under; it names
another service and that service's subject, and learns its OWN subject for the same citizen,
never the other way round. One lookup in the subject index (``identity.subject_index``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlmodel import select

from identity.models import Citizen
from identity.profiles import SECTOR_OF_CLIENT, UnknownRelyingParty
from identity.resident_id import InvalidResidentId, parse_resident_id
from identity.subject_index import citizen_id_for
from kernel.dependencies import SessionDep
from kernel.problems import Problem
from kernel.tokens import caller_with

router = APIRouter(tags=["service endpoints"])


class SectorSubjectRequest(BaseModel):
    resident_id: str = Field(max_length=18, description="The citizen's resident identity number")


class SectorSubject(BaseModel):
    subject: str


class SubjectLinkRequest(BaseModel):
    client: str = Field(max_length=100, examples=["fines"], description="The service whose subject this is")
    subject: str = Field(min_length=1, max_length=200, description="That service's subject for the citizen")


@router.post("/sector-subjects", summary="The calling department's subject for a citizen it has identified")
def sector_subject(
    request: Request, body: SectorSubjectRequest, session: SessionDep, caller: caller_with("identity:sector-subject")
) -> SectorSubject:
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


@router.post(
    "/sector-subjects/links", summary="The caller's own subject for the citizen another service knows by this subject"
)
def link_subject(
    request: Request, body: SubjectLinkRequest, session: SessionDep, caller: caller_with("identity:subject-link")
) -> SectorSubject:
    profile = request.app.state.token_server.profile
    sector = SECTOR_OF_CLIENT.get(body.client)
    if sector is None:
        raise Problem(422, f"{body.client!r} is no service with a sector.", kind="unknown-client")
    if caller.client_id not in SECTOR_OF_CLIENT:
        raise Problem(403, f"{caller.client_id} belongs to no sector.", kind="no-sector")
    citizen_id = citizen_id_for(session, sector, body.subject, profile)
    citizen = session.get(Citizen, citizen_id) if citizen_id else None
    # the recomputation is one HMAC: it guards against an index row out of step with the secret
    if citizen is None or profile.subject_for(citizen, body.client) != body.subject:
        raise Problem(404, f"No citizen has this subject at {body.client}.", kind="subject-not-found")
    return SectorSubject(subject=profile.subject_for(citizen, caller.client_id))
