"""The citizen's own routes: every artefact about them, their decisions, and who read their data.

Reached directly with the citizen's app token, or through the super-app's blind courier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from consent.access_log import AccessLog, access_log
from consent.dependencies import BookDep, TreeHeadsDep
from consent.errors import ArtefactNotFound, ForbiddenTransition, NotConsentBased, RequestLapsed
from consent.models import ArtefactPublic, Status, StatusChange
from consent.presentation import public
from kernel.bounds import AwareInstant, Reference
from kernel.citizens import CurrentCitizen
from kernel.problems import problem_responses

# a service's name; longer is no recipient, so not a filter to run
MAX_RECIPIENT_LENGTH = 64
router = APIRouter(prefix="/me", tags=["the citizen"])


@router.get("/artefacts", summary="Every consent and legal basis about you, newest first")
def my_artefacts(book: BookDep, citizen: CurrentCitizen, status: Status | None = None) -> Sequence[ArtefactPublic]:
    return [public(artefact) for artefact in book.artefacts_of(citizen.subject, status)]


@router.get("/artefacts/{artefact_id}", summary="One of your artefacts", responses=problem_responses(ArtefactNotFound))
def my_artefact(artefact_id: Reference, book: BookDep, citizen: CurrentCitizen) -> ArtefactPublic:
    return public(book.artefact_of(citizen.subject, artefact_id))


@router.post(
    "/artefacts/{artefact_id}/status",
    summary="Give, refuse or withdraw a consent",
    responses=problem_responses(ArtefactNotFound, NotConsentBased, ForbiddenTransition, RequestLapsed),
)
def change_status(artefact_id: Reference, body: StatusChange, book: BookDep, citizen: CurrentCitizen) -> ArtefactPublic:
    return public(book.change_status(citizen.subject, artefact_id, Status(body.status)))


@router.get("/access-log", summary="Who read your data and every consent event, newest first, with proofs")
def my_access_log(
    book: BookDep,
    tree_heads: TreeHeadsDep,
    citizen: CurrentCitizen,
    since: AwareInstant | None = None,
    until: AwareInstant | None = None,
    recipient: Annotated[str | None, Query(max_length=MAX_RECIPIENT_LENGTH)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AccessLog:
    return access_log(
        book.ledger, tree_heads, citizen.subject, since=since, until=until, recipient=recipient, limit=limit
    )
