"""The civil affairs bureau's own register desk: it records marriages in the marriage register.

Its own operators only (``kernel.operators``: ``Authorization: Operator <secret>``), never a service or
a citizen. The same marriage again answers 200 and changes nothing, so a population can be put in again
after an interruption.

The desk learns each spouse's identifier as the demo seed does: it shows identity the resident ID from
their papers and keeps the subject the civil-registry sector knows them by (the resident ID itself on
the platform, the sector's pseudonym in the rights regime), never the resident ID it was shown
(identity's policy makes the difference: this route has none).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from kernel.dependencies import ServicesDep, SessionDep
from kernel.operators import Operator
from kernel.problems import ResidentNotEnrolled, UpstreamError, UpstreamTimeout, UpstreamUnreachable, problem_responses
from services.appointments.errors import AlreadyMarried, MarriageRecordedOtherwise
from services.appointments.models import MarriageRegistration, RegisteredMarriage
from services.appointments.register import record_marriage

router = APIRouter(tags=["operators"])


@router.post(
    "/marriages",
    status_code=status.HTTP_201_CREATED,
    summary="The register desk records a marriage (the same marriage again: 200, nothing changed)",
    responses={
        **problem_responses(
            AlreadyMarried,
            MarriageRecordedOtherwise,
            ResidentNotEnrolled,
            UpstreamUnreachable,
            UpstreamTimeout,
            UpstreamError,
        ),
        200: {"model": RegisteredMarriage, "description": "This marriage is on record already: nothing changed"},
    },
)
async def register(
    body: MarriageRegistration, response: Response, session: SessionDep, services: ServicesDep, operator: Operator
) -> RegisteredMarriage:
    first, second = await asyncio.gather(*(services.enrolled_subject(spouse) for spouse in body.spouses))
    marriage, created = await run_in_threadpool(record_marriage, session, first, second, body.registered_on)
    if not created:
        response.status_code = status.HTTP_200_OK
    assert marriage.id is not None  # flushed
    return RegisteredMarriage(id=marriage.id, spouses=[first, second], registered_on=marriage.registered_on)
