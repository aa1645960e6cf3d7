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
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from kernel.bounds import Reference
from kernel.in_clear import note_sealed
from kernel.problems import UpstreamError, problem_responses
from superapp_gateway.auth import CITIZEN_PROBLEMS, CurrentSession
from superapp_gateway.catalogue import offered
from superapp_gateway.dependencies import DepartmentsDep, HistoryDep, PolicyDep, SettingsDep
from superapp_gateway.errors import CourierNotOffered, DepartmentTimeout, DepartmentUnavailable, UnknownDepartment
from superapp_gateway.settings import Settings

router = APIRouter(tags=["city services"])


class Envelope(BaseModel):
    envelope: str = Field(min_length=1, max_length=60_000, description="A sealed request or answer (compact JWE).")


class JourneyEventPublic(BaseModel):
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
    "/me/history", summary="What the super-app keeps of my journeys", responses=problem_responses(*CITIZEN_PROBLEMS)
)
async def my_history(citizen: CurrentSession, history: HistoryDep) -> list[JourneyEventPublic]:
    events = await history.of(citizen.subject)
    return [
        JourneyEventPublic(journey=e.journey, event=e.event, details=json.loads(e.details), at=e.at) for e in events
    ]
