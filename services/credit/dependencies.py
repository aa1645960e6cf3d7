"""The credit platform's typed state, and the dependencies its routes name.

The platform keeps nothing of its own in its state beyond the kernel's fields (settings, database,
keys, clock, connections): ``CreditState`` types them with its ``Settings``. It has no regime policy
(see the package's docstring). Routes use these aliases and the kernel's (``SessionDep``, ``NowDep``);
other code ``state_of(app, CreditState)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kernel.state import ServiceState, state_of
from services.credit.settings import Settings


@dataclass(kw_only=True, eq=False)
class CreditState(ServiceState[Settings]):
    pass


async def credit_state(request: Request) -> CreditState:
    return state_of(request.app, CreditState)


StateDep = Annotated[CreditState, Depends(credit_state)]


async def credit_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(credit_settings)]
