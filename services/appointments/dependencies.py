"""The civil affairs bureau's typed state, and the dependencies its routes name.

``AppointmentsState`` is what ``create_app`` builds for the app (``kernel.state``): the kernel's
fields (settings, database, keys, clock, connections) and the bureau's own, its regime's admission
policy. Routes reach it only through these aliases and the kernel's (``SessionDep``, ``NowDep``,
``ServicesDep``); other code through ``state_of(app, AppointmentsState)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kernel.state import ServiceState, state_of
from services.appointments.policy import AppointmentsPolicy
from services.appointments.settings import Settings


@dataclass(kw_only=True, eq=False)
class AppointmentsState(ServiceState[Settings]):
    policy: AppointmentsPolicy  # who may book: the regime's one difference here (policy.py)


async def appointments_state(request: Request) -> AppointmentsState:
    return state_of(request.app, AppointmentsState)


StateDep = Annotated[AppointmentsState, Depends(appointments_state)]


async def appointments_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(appointments_settings)]


async def appointments_policy(state: StateDep) -> AppointmentsPolicy:
    return state.policy


PolicyDep = Annotated[AppointmentsPolicy, Depends(appointments_policy)]
