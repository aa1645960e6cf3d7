"""Who may book: the one place where the two regimes differ for the civil affairs bureau.

platform regime — joint punishment (联合惩戒): before a citizen enters a booking (the booker,
    and the partner as soon as the bureau knows them) the bureau asks the national credit-sharing
    platform whether they are restricted for ``appointments``. Restricted: 403 with the
    platform's reasons. Platform unreachable, or answering anything unusable: 503 — the bureau
    never books unchecked.
rights regime — purpose limitation: a fine is never consulted to decide an appointment. There
    is no credit platform to ask, and this policy asks nobody.

The policy is built once per app (``policy_for``, kept in ``AppointmentsState.policy``) and reached
by routes through ``PolicyDep``; what it asks with, the service client, is handed to ``admit``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from kernel.client import raise_for_upstream_problem
from kernel.problems import Problem
from kernel.regime import Regime
from services.appointments.errors import CREDIT_SERVICE, CitizenRestricted, CreditCheckUnavailable

RESTRICTED_SERVICE = "appointments"  # how the credit platform names this service in its rules


@dataclass(frozen=True)
class Party:
    role: str  # "booker" or "partner": how the citizen takes part in the booking
    subject: str


class ServiceRequests(Protocol):
    """What a policy uses of ``kernel.client.ServiceClient``: an authenticated call to another service."""

    async def request(self, callee: str, method: str, path: str, **kwargs: Any) -> httpx.Response: ...


class _Restrictions(BaseModel):
    """The part of the platform's answer the bureau relies on; anything else is a 503, not a guess."""

    restricted: bool
    reasons: list[dict[str, Any]]


class AppointmentsPolicy(Protocol):
    consults_credit: bool

    async def admit(self, services: ServiceRequests, parties: Sequence[Party]) -> None:
        """Return if every party may take part in a booking; raise a Problem otherwise."""


class PurposeLimitation:
    """Rights regime: nobody is asked; nothing about a citizen's debts decides an appointment."""

    consults_credit = False

    async def admit(self, services: ServiceRequests, parties: Sequence[Party]) -> None:
        return None


class JointPunishment:
    """Platform regime: every party is checked on the credit-sharing platform, all at once."""

    consults_credit = True

    async def admit(self, services: ServiceRequests, parties: Sequence[Party]) -> None:
        answers = await asyncio.gather(*(self._reasons(services, party) for party in parties), return_exceptions=True)
        reasons: list[dict[str, Any]] = []
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
            reasons += answer
        if reasons:
            raise CitizenRestricted(reasons)

    async def _reasons(self, services: ServiceRequests, party: Party) -> list[dict[str, Any]]:
        path = f"/subjects/{quote(party.subject, safe='')}/restrictions"
        try:
            response = await services.request(CREDIT_SERVICE, "GET", path, params={"service": RESTRICTED_SERVICE})
        except Problem as error:  # unreachable, timed out, no token for it, no address for it
            raise CreditCheckUnavailable(error.detail or error.phrase) from error
        if response.status_code == 422:
            # the subject is not a resident ID: a bad request, not an outage (422 invalid-subject)
            raise_for_upstream_problem(CREDIT_SERVICE, response)
        if response.status_code != 200:
            raise CreditCheckUnavailable(f"it answered {response.status_code}")
        try:
            answer = _Restrictions.model_validate(response.json())
        except (ValueError, ValidationError):
            raise CreditCheckUnavailable("its answer is not a restrictions record") from None
        if not answer.restricted:
            return []
        # "restricted" decides; a restriction the platform gives no reason for still restricts
        return [{"party": party.role, **reason} for reason in answer.reasons] or [{"party": party.role}]


def policy_for(regime: Regime) -> AppointmentsPolicy:
    policies: dict[Regime, type[AppointmentsPolicy]] = {
        Regime.PLATFORM: JointPunishment,
        Regime.RIGHTS: PurposeLimitation,
    }
    return policies[regime]()
