"""The citizen's own routes that every journey shares: the blind courier's relay, and what the
super-app keeps about the citizen (profile, journey history).

Each journey's own routes are in ``superapp_gateway/journeys/``. Routes are thin: what the gateway
may ask a department, and what it keeps of the answer, is the regime's policy
(``GatewayPolicy.departments`` and ``.history``). In the platform regime the gateway looks
things up for the citizen and keeps the journey; in the rights regime it only relays the device's
sealed envelopes (``POST /courier/{department}``) and keeps nothing of them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from kernel.bounds import MAX_PAGE_SIZE, PageSize, Reference, RowId
from kernel.in_clear import note_sealed
from kernel.problems import UpstreamError, problem_responses
from superapp_gateway.auth import CITIZEN_PROBLEMS, CurrentSession
from superapp_gateway.catalogue import offered
from superapp_gateway.dependencies import DepartmentsDep, HistoryDep, PolicyDep, SettingsDep
from superapp_gateway.errors import CourierNotOffered, DepartmentTimeout, DepartmentUnavailable, UnknownDepartment
from superapp_gateway.models import JourneyEvent
from superapp_gateway.settings import Settings

router = APIRouter(tags=["city services"])


class Envelope(BaseModel):
    envelope: str = Field(min_length=1, max_length=60_000, description="A sealed request or answer (compact JWE).")


class JourneyEventPublic(BaseModel):
    id: int  # where the next page starts: ``?after=<id>``
    journey: str
    event: str
    details: Any
    at: datetime


def _department_of(settings: Settings, department: str) -> str:
    providers = {entry.provider for entry in offered(settings.regime)}
    if department not in providers or department not in settings.peers:
        raise UnknownDepartment(department)
    return department


@router.post(
    "/courier/{department}",
    summary="Relay my app's sealed request to a department, and its sealed answer",
    responses=problem_responses(
        *CITIZEN_PROBLEMS, UnknownDepartment, CourierNotOffered, DepartmentUnavailable, DepartmentTimeout, UpstreamError
    ),
)
async def relay(
    department: Reference,
    body: Envelope,
    request: Request,
    citizen: CurrentSession,
    settings: SettingsDep,
    policy: PolicyDep,
    departments: DepartmentsDep,
) -> Envelope:
    # what the gateway carries and cannot read: its size is all a span may say of it
    note_sealed(request.scope, len(body.envelope))
    sealed = await policy.departments.relay(departments, _department_of(settings, department), body.envelope)
    return Envelope(envelope=sealed)


@router.get(
    "/me/profile",
    summary="What the super-app keeps about me from the identity provider",
    responses=problem_responses(*CITIZEN_PROBLEMS),
)
async def my_profile(citizen: CurrentSession) -> dict[str, Any]:
    profile: dict[str, Any] = json.loads(citizen.claims)
    return profile


@router.get(
    "/me/history",
    summary="What the super-app keeps of my journeys, oldest first, a page at a time",
    description=(
        "Up to `limit` events, from the one after event `after` (an event's `id`). When there are more, the"
        ' answer\'s `Link` header names the next page (`rel="next"`, RFC 8288).'
    ),
    responses=problem_responses(*CITIZEN_PROBLEMS),
)
async def my_history(
    request: Request,
    response: Response,
    citizen: CurrentSession,
    history: HistoryDep,
    after: Annotated[RowId | None, Query()] = None,
    limit: Annotated[PageSize, Query()] = MAX_PAGE_SIZE,
) -> list[JourneyEventPublic]:
    events = await history.page(citizen.subject, after=after, limit=limit + 1)
    if len(events) > limit:
        events = events[:limit]
        following = request.url.include_query_params(after=events[-1].id, limit=limit)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return [_public(event) for event in events]


def _public(event: JourneyEvent) -> JourneyEventPublic:
    assert event.id is not None  # a stored row
    return JourneyEventPublic(
        id=event.id, journey=event.journey, event=event.event, details=json.loads(event.details), at=event.at
    )
