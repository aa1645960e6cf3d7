"""The gateway's typed state and the dependencies its routes take (kernel.dependencies has the
ones every service shares: ``SessionDep``, ``NowDep``, ``ClockDep``, ``ServicesDep`` …)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from kernel.clock import Clock
from kernel.database import Database
from kernel.dependencies import ClockDep
from kernel.state import ServiceState, state_of
from superapp_gateway.departments import DepartmentClient
from superapp_gateway.history import History
from superapp_gateway.models import JourneyEvent
from superapp_gateway.pages.once import SubmittedForms
from superapp_gateway.policy import GatewayPolicy
from superapp_gateway.settings import Settings

if TYPE_CHECKING:  # the retrier reads this state: annotation only
    from superapp_gateway.retrier import PendingPaymentRetrier


T = TypeVar("T")


@dataclass(kw_only=True, eq=False)
class GatewayState(ServiceState[Settings]):
    # the regime's choices (how the gateway reaches departments, what it keeps …), made once in create_app
    policy: GatewayPolicy
    # retries pending wallet payments in the background while the app serves (superapp_gateway/retrier.py)
    wallet_retrier: PendingPaymentRetrier | None = field(default=None, repr=False)
    # the phone pages' forms already acted on, so a double tap acts once (superapp_gateway/pages/once.py)
    phone_forms: SubmittedForms = field(default_factory=SubmittedForms, repr=False)

    def department_client(self) -> DepartmentClient:
        """Calls to departments, bounded by the timeout the settings say now (tests and workshops change it)."""
        return DepartmentClient(services=self.services, timeout_seconds=self.settings.department_timeout_seconds)


async def gateway_state(request: Request) -> GatewayState:
    return state_of(request.app, GatewayState)


StateDep = Annotated[GatewayState, Depends(gateway_state)]


async def gateway_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(gateway_settings)]


async def gateway_policy(state: StateDep) -> GatewayPolicy:
    return state.policy


PolicyDep = Annotated[GatewayPolicy, Depends(gateway_policy)]


async def department_client(state: StateDep) -> DepartmentClient:
    return state.department_client()


DepartmentsDep = Annotated[DepartmentClient, Depends(department_client)]


@dataclass(frozen=True)
class JourneyHistory:
    """The regime's history (``GatewayPolicy.history``) for one request: the service's database (each
    read in a session of its own, closed at once; each record committed on its own) and clock."""

    history: History
    database: Database
    clock: Clock

    async def record(self, subject: str, journey: str, event: str, details: object) -> None:
        await run_in_threadpool(self.history.record, self.database, subject, journey, event, details, self.clock())

    async def page(self, subject: str, *, after: int | None, limit: int) -> list[JourneyEvent]:
        return await run_in_threadpool(
            self._read, functools.partial(self.history.page, after=after, limit=limit), subject
        )

    async def journeys(self, subject: str) -> dict[str, int]:
        return await run_in_threadpool(self._read, self.history.journeys, subject)

    def _read(self, read: Callable[[Session, str], T], subject: str) -> T:
        with self.database.session() as session:
            return read(session, subject)


async def journey_history(state: StateDep, clock: ClockDep) -> JourneyHistory:
    return JourneyHistory(history=state.policy.history, database=state.database, clock=clock)


HistoryDep = Annotated[JourneyHistory, Depends(journey_history)]
