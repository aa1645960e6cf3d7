"""HTTP for data consumers, data holders and the citizen; the logic is in ``consent.artefacts``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from consent.access_log import AccessLog, access_log
from consent.artefacts import ConsentBook, public
from consent.models import (
    ArtefactPublic,
    ConsentRequestCreate,
    DecisionPublic,
    DecisionRequest,
    ErasureCreate,
    ErasurePublic,
    LegalBasisCreate,
    Status,
    StatusChange,
)
from consent.subjects import citizen_key_of
from kernel.bounds import AwareInstant, Reference
from kernel.citizens import CurrentCitizen
from kernel.tokens import caller_with

# a service's name; longer is no recipient, so not a filter to run
MAX_RECIPIENT_LENGTH = 64
service_router = APIRouter(tags=["data consumers and holders"])
citizen_router = APIRouter(prefix="/me", tags=["the citizen"])


def consent_book(request: Request) -> ConsentBook:
    return request.app.state.consent_book


Book = Annotated[ConsentBook, Depends(consent_book)]


@service_router.post(
    "/consent-requests",
    status_code=status.HTTP_201_CREATED,
    summary="Ask a citizen for consent (they answer in their own app)",
)
async def request_consent(
    body: ConsentRequestCreate, request: Request, book: Book, caller: caller_with("consent:request")
) -> ArtefactPublic:
    citizen_key = await citizen_key_of(request.app, caller.client_id, body.subject)
    return public(await run_in_threadpool(book.request, citizen_key, caller.client_id, body))


@service_router.post(
    "/legal-bases",
    status_code=status.HTTP_201_CREATED,
    summary="Record processing that rests on another legal basis, so the citizen sees it",
)
async def record_legal_basis(
    body: LegalBasisCreate, request: Request, book: Book, caller: caller_with("consent:record")
) -> ArtefactPublic:
    citizen_key = await citizen_key_of(request.app, caller.client_id, body.subject)
    return public(await run_in_threadpool(book.record_basis, citizen_key, caller.client_id, body))


@service_router.get("/artefacts/{artefact_id}", summary="An artefact naming the caller (e.g. to see the answer)")
def read_artefact(artefact_id: Reference, book: Book, caller: caller_with("consent:request")) -> ArtefactPublic:
    return public(book.artefact_for(caller.client_id, artefact_id))


@service_router.post("/decisions", summary="May this recipient read this category of this citizen now? Logged first.")
async def decide(
    body: DecisionRequest, request: Request, book: Book, caller: caller_with("consent:decide")
) -> DecisionPublic:
    citizen_key = await citizen_key_of(request.app, caller.client_id, body.subject)
    return await run_in_threadpool(book.decide, caller.client_id, citizen_key, body)


@service_router.post(
    "/erasures",
    status_code=status.HTTP_201_CREATED,
    summary="Record that a holder erased a citizen's data (only that it happened)",
)
async def record_erasure(
    body: ErasureCreate, request: Request, book: Book, caller: caller_with("consent:erasure")
) -> ErasurePublic:
    citizen_key = await citizen_key_of(request.app, caller.client_id, body.subject)
    index = await run_in_threadpool(book.record_erasure, caller.client_id, citizen_key, body.subject, body.scope)
    return ErasurePublic(ledger_index=index)


@citizen_router.get("/artefacts", summary="Every consent and legal basis about you, newest first")
def my_artefacts(book: Book, citizen: CurrentCitizen, status: Status | None = None) -> Sequence[ArtefactPublic]:
    return [public(artefact) for artefact in book.artefacts_of(citizen.subject, status)]


@citizen_router.get("/artefacts/{artefact_id}", summary="One of your artefacts")
def my_artefact(artefact_id: Reference, book: Book, citizen: CurrentCitizen) -> ArtefactPublic:
    return public(book.artefact_of(citizen.subject, artefact_id))


@citizen_router.post("/artefacts/{artefact_id}/status", summary="Give, refuse or withdraw a consent")
def change_status(artefact_id: Reference, body: StatusChange, book: Book, citizen: CurrentCitizen) -> ArtefactPublic:
    return public(book.change_status(citizen.subject, artefact_id, Status(body.status)))


@citizen_router.get("/access-log", summary="Who read your data and every consent event, newest first, with proofs")
def my_access_log(
    request: Request,
    book: Book,
    citizen: CurrentCitizen,
    since: AwareInstant | None = None,
    until: AwareInstant | None = None,
    recipient: Annotated[str | None, Query(max_length=MAX_RECIPIENT_LENGTH)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AccessLog:
    return access_log(
        book, request.app.state.tree_heads, citizen.subject, since=since, until=until, recipient=recipient, limit=limit
    )
