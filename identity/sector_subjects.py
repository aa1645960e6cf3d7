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

``GET /demo/sector-subjects`` — in a demo deployment only, the consent ledger and the pod (alone:
``identity:demo-subjects``) learn their own subjects for the demo personas, whom they otherwise know
only by pseudonyms they cannot link to a persona, so that ``citygate reset`` can give the personas their
seeded state back there too. The personas are fictional and published in the handout; nobody else's
subject is ever answered, and a deployment without demo data answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from identity.auth import DemoSubjectsCaller, SectorSubjectCaller, SubjectLinkCaller
from identity.dependencies import PolicyDep
from identity.errors import CitizenNotFound, NoSector, ResidentIdRefused, SubjectNotFound, UnknownClient
from identity.models import Citizen
from identity.policy import SECTOR_OF_CLIENT, IdentityPolicy, UnknownRelyingParty
from identity.subject_index import citizen_id_for
from kernel.demo_reset import DemoOnly, require_demo
from kernel.dependencies import SessionDep
from kernel.personas import PERSONAS
from kernel.problems import problem_responses
from kernel.resident_id import InvalidResidentId, parse_resident_id

router = APIRouter(tags=["service endpoints"])


class SectorSubjectRequest(BaseModel):
    resident_id: str = Field(max_length=18, description="The citizen's resident identity number")


class SectorSubject(BaseModel):
    subject: str


class DemoSubjects(BaseModel):
    subjects: dict[str, str] = Field(description="Each enrolled demo persona's handle -> the caller's subject for them")


class SubjectLinkRequest(BaseModel):
    client: str = Field(max_length=100, examples=["fines"], description="The service whose subject this is")
    subject: str = Field(min_length=1, max_length=200, description="That service's subject for the citizen")


@router.post(
    "/sector-subjects",
    summary="The calling department's subject for a citizen it has identified",
    responses=problem_responses(ResidentIdRefused, CitizenNotFound, NoSector),
)
async def sector_subject(
    body: SectorSubjectRequest, session: SessionDep, policy: PolicyDep, caller: SectorSubjectCaller
) -> SectorSubject:
    # Async, with the lookup in the thread pool: every operator's intake asks this once per resident, in
    # bursts. A sync route's answer would wait for a thread of its own while its session still holds its
    # connection, and a burst (55 at once) could leave every thread waiting for a connection: a 30 s stall.
    return await run_in_threadpool(_subject_of, body.resident_id, session, policy, caller.client_id)


def _subject_of(resident_id: str, session: Session, policy: IdentityPolicy, client_id: str) -> SectorSubject:
    try:
        normalised = parse_resident_id(resident_id).value
    except InvalidResidentId as error:
        raise ResidentIdRefused(str(error)) from error
    citizen = session.exec(select(Citizen).where(col(Citizen.resident_id) == normalised)).first()
    if citizen is None:
        raise CitizenNotFound("No citizen with this resident ID is enrolled.")
    try:
        return SectorSubject(subject=policy.subject_for(citizen, client_id))
    except UnknownRelyingParty as error:
        raise NoSector(f"{client_id} belongs to no sector.") from error


@router.post(
    "/sector-subjects/links",
    summary="The caller's own subject for the citizen another service knows by this subject",
    responses=problem_responses(UnknownClient, NoSector, SubjectNotFound),
)
def link_subject(
    body: SubjectLinkRequest, session: SessionDep, policy: PolicyDep, caller: SubjectLinkCaller
) -> SectorSubject:
    sector = SECTOR_OF_CLIENT.get(body.client)
    if sector is None:
        raise UnknownClient(f"{body.client!r} is no service with a sector.")
    if caller.client_id not in SECTOR_OF_CLIENT:
        raise NoSector(f"{caller.client_id} belongs to no sector.")
    citizen_id = citizen_id_for(session, sector, body.subject, policy)
    citizen = session.get(Citizen, citizen_id) if citizen_id else None
    # the recomputation is one HMAC: it guards against an index row out of step with the secret
    if citizen is None or policy.subject_for(citizen, body.client) != body.subject:
        raise SubjectNotFound(f"No citizen has this subject at {body.client}.")
    return SectorSubject(subject=policy.subject_for(citizen, caller.client_id))


@router.get(
    "/demo/sector-subjects",
    summary="Demo only: the caller's own subjects for the demo personas (the consent ledger's and the pod's reset)",
    dependencies=[Depends(require_demo)],
    responses=problem_responses(DemoOnly, NoSector),
)
def demo_subjects(session: SessionDep, policy: PolicyDep, caller: DemoSubjectsCaller) -> DemoSubjects:
    if caller.client_id not in SECTOR_OF_CLIENT:
        raise NoSector(f"{caller.client_id} belongs to no sector.")
    handles = [persona.handle for persona in PERSONAS]
    personas = session.exec(select(Citizen).where(col(Citizen.handle).in_(handles))).all()
    return DemoSubjects(
        subjects={citizen.handle: policy.subject_for(citizen, caller.client_id) for citizen in personas}
    )
