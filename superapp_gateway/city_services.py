"""What every journey through the super-app shares: the blind courier's relay, and what the
super-app keeps about the citizen (profile, journey history).

Each journey's own routes are in ``superapp_gateway/journeys/``. Routes are thin: what the gateway
may ask a department, and what it keeps of the answer, is the regime's policy
(``app.state.policy.departments`` and ``.history``). In the platform regime the gateway looks
things up for the citizen and keeps the journey; in the rights regime it only relays the device's
sealed envelopes (``POST /courier/{department}``) and keeps nothing of them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kernel.bounds import Reference
from kernel.problems import Problem
from superapp_gateway.catalogue import offered
from superapp_gateway.sessions import CurrentSession

router = APIRouter(tags=["city services"])


class Envelope(BaseModel):
    envelope: str = Field(min_length=1, max_length=60_000, description="A sealed request or answer (compact JWE).")


class JourneyEventPublic(BaseModel):
    journey: str
    event: str
    details: Any
    at: datetime


def _department_of(request: Request, department: str) -> str:
    providers = {entry.provider for entry in offered(request.app.state.settings.regime)}
    if department not in providers or department not in request.app.state.settings.peers:
        raise Problem(404, f"The super-app routes to no {department!r} department here.", kind="unknown-department")
    return department


@router.post("/courier/{department}", summary="Relay my app's sealed request to a department, and its sealed answer")
async def relay(department: Reference, body: Envelope, request: Request, citizen: CurrentSession) -> Envelope:
    app = request.app
    sealed = await app.state.policy.departments.relay(app, _department_of(request, department), body.envelope)
    return Envelope(envelope=sealed)


@router.get("/me/profile", summary="What the super-app keeps about me from the identity provider")
async def my_profile(citizen: CurrentSession) -> dict[str, Any]:
    return json.loads(citizen.claims)


@router.get("/me/history", summary="What the super-app keeps of my journeys")
async def my_history(request: Request, citizen: CurrentSession) -> list[JourneyEventPublic]:
    events = await run_in_threadpool(request.app.state.policy.history.of, request.app, citizen.subject)
    return [
        JourneyEventPublic(journey=e.journey, event=e.event, details=json.loads(e.details), at=e.at) for e in events
    ]
