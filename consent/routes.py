"""HTTP for data consumers and data holders; the logic is in ``consent.artefacts`` and ``consent.decisions``."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool

from consent import decisions
from consent.auth import BasisRecorder, ConsentRequester, DecisionAsker, ErasureReporter
from consent.dependencies import BookDep, SubjectLinksDep
from consent.errors import ArtefactNotFound, InvalidValidity, LegalBasisNotInLaw, SubjectUnknown, UnknownTerm
from consent.models import (
    ArtefactPublic,
    ConsentRequestCreate,
    DecisionPublic,
    DecisionRequest,
    ErasureCreate,
    ErasurePublic,
    LegalBasisCreate,
)
from consent.presentation import public
from kernel.bounds import Reference
from kernel.dependencies import ServicesDep
from kernel.problems import (
    ArtefactExpired,
    InvalidArtefact,
    Problem,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    problem_responses,
)

router = APIRouter(tags=["data consumers and holders"])
# what asking the identity service who the caller's subject is may answer (consent.subjects)
SUBJECT_LOOKUP: tuple[type[Problem], ...] = (SubjectUnknown, UpstreamError, UpstreamUnreachable, UpstreamTimeout)


@router.post(
    "/consent-requests",
    status_code=status.HTTP_201_CREATED,
    summary="Ask a citizen for consent (they answer in their own app)",
    responses=problem_responses(UnknownTerm, InvalidValidity, *SUBJECT_LOOKUP),
)
async def request_consent(
    body: ConsentRequestCreate, book: BookDep, links: SubjectLinksDep, services: ServicesDep, caller: ConsentRequester
) -> ArtefactPublic:
    citizen_key = await links.citizen_key_of(services, caller.client_id, body.subject)
    return public(await run_in_threadpool(book.request, citizen_key, caller.client_id, body))


@router.post(
    "/legal-bases",
    status_code=status.HTTP_201_CREATED,
    summary="Record processing that rests on another legal basis, so the citizen sees it",
    responses=problem_responses(UnknownTerm, LegalBasisNotInLaw, InvalidValidity, *SUBJECT_LOOKUP),
)
async def record_legal_basis(
    body: LegalBasisCreate, book: BookDep, links: SubjectLinksDep, services: ServicesDep, caller: BasisRecorder
) -> ArtefactPublic:
    citizen_key = await links.citizen_key_of(services, caller.client_id, body.subject)
    return public(await run_in_threadpool(book.record_basis, citizen_key, caller.client_id, body))


@router.get(
    "/artefacts/{artefact_id}",
    summary="An artefact naming the caller (e.g. to see the answer)",
    responses=problem_responses(ArtefactNotFound),
)
def read_artefact(artefact_id: Reference, book: BookDep, caller: ConsentRequester) -> ArtefactPublic:
    return public(book.artefact_for(caller.client_id, artefact_id))


@router.post(
    "/decisions",
    summary="May this recipient read this category of this citizen now? Logged first.",
    responses=problem_responses(InvalidArtefact, ArtefactExpired, *SUBJECT_LOOKUP),
)
async def decide(
    body: DecisionRequest, book: BookDep, links: SubjectLinksDep, services: ServicesDep, caller: DecisionAsker
) -> DecisionPublic:
    citizen_key = await links.citizen_key_of(services, caller.client_id, body.subject)
    return await run_in_threadpool(decisions.decide, book, caller.client_id, citizen_key, body)


@router.post(
    "/erasures",
    status_code=status.HTTP_201_CREATED,
    summary="Record that a holder erased a citizen's data (only that it happened)",
    responses=problem_responses(*SUBJECT_LOOKUP),
)
async def record_erasure(
    body: ErasureCreate, book: BookDep, links: SubjectLinksDep, services: ServicesDep, caller: ErasureReporter
) -> ErasurePublic:
    citizen_key = await links.citizen_key_of(services, caller.client_id, body.subject)
    index = await run_in_threadpool(book.record_erasure, caller.client_id, citizen_key, body.subject, body.scope)
    return ErasurePublic(ledger_index=index)
