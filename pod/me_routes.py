"""The citizen's own routes: create their pod, take all of it with them, or erase it.

Reached with the citizen's app token (``kernel.citizens.CurrentCitizen``); what is in the pod is
reached through the Solid protocol's routes (``pod.routes``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from kernel.citizens import CurrentCitizen
from kernel.problems import UpstreamError, problem_responses
from pod.dependencies import StateDep
from pod.errors import ConsentUnavailable, NoPod
from pod.pods import PodPublic, create_pod
from pod.representation import USER_CONTENT_HEADERS
from pod.rights import ErasurePublic, erase_pod, export_archive

router = APIRouter()


@router.post(
    "/pods",
    tags=["pods"],
    status_code=status.HTTP_201_CREATED,
    summary="Create your pod (once); answers where it is",
    responses={200: {"model": PodPublic, "description": "You already have this pod"}},
)
async def create_my_pod(state: StateDep, citizen: CurrentCitizen, response: Response) -> PodPublic:
    pod, created = await run_in_threadpool(create_pod, state, citizen.subject)
    if not created:
        response.status_code = status.HTTP_200_OK
    return pod


@router.get(
    "/me/pod/export",
    tags=["the citizen's rights"],
    summary="Your whole pod as one zip archive",
    response_class=Response,
    responses={**problem_responses(NoPod), 200: {"content": {"application/zip": {}}}},
)
async def export(state: StateDep, citizen: CurrentCitizen) -> Response:
    archive = await run_in_threadpool(export_archive, state.database, state.base_url, citizen.subject)
    return Response(
        archive,
        media_type="application/zip",
        headers={**USER_CONTENT_HEADERS, "Content-Disposition": 'attachment; filename="pod-export.zip"'},
    )


@router.delete(
    "/me/pod",
    tags=["the citizen's rights"],
    summary="Erase your pod (the ledger keeps only that it happened)",
    responses=problem_responses(NoPod, ConsentUnavailable, UpstreamError),
)
async def erase(state: StateDep, citizen: CurrentCitizen) -> ErasurePublic:
    return await erase_pod(state, citizen.subject)
