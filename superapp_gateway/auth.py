"""Who may call the gateway's routes, as named dependencies.

- ``InternetPlusCaller``: a department holding ``gateway:internet-plus`` (a service access token).
- ``LoggedInSession``: a citizen logged in to the super-app (superapp_gateway/sessions.py), whether
  or not they agreed to the user agreement: the page after login and the agreement itself.
- ``CurrentSession``: a logged-in citizen who may use the city services (on the platform, once the
  user agreement is agreed to): every city service, the wallet and the citizen's own pages.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from kernel.dependencies import NowDep
from kernel.in_clear import note_caller
from kernel.tokens import RequirePermission, ServiceCaller
from superapp_gateway.dependencies import GatewayState, StateDep
from superapp_gateway.errors import AgreementRequired, CrossOriginRequest, NotLoggedIn
from superapp_gateway.models import CitizenSession
from superapp_gateway.sessions import current_session, presented_session_id, presents_cookie, require_own_origin

# What a route taking LoggedInSession / CurrentSession may answer (its OpenAPI ``responses``).
LOGGED_IN_PROBLEMS = (NotLoggedIn, CrossOriginRequest)
CITIZEN_PROBLEMS = (*LOGGED_IN_PROBLEMS, AgreementRequired)

InternetPlusCaller = Annotated[ServiceCaller, Depends(RequirePermission("gateway:internet-plus"))]


# Each check reads in a database session of its own, closed at once: the route's session (SessionDep)
# would hold its connection, open for the read, through the route's calls to departments. The session
# and (for the city services) the agreement are read in one go: one worker thread, one connection.


def _lookup(state: GatewayState, session_id: str | None, now: datetime, *, agreed: bool) -> CitizenSession | None:
    with state.database.session() as db:
        session = current_session(db, session_id, now)
        if session is not None and agreed:
            state.policy.sign_up.require_agreed(db, session.subject)
        return session


async def _presented_session(request: Request, state: GatewayState, now: datetime, *, agreed: bool) -> CitizenSession:
    if presents_cookie(request, state.settings):
        require_own_origin(request, state.settings)  # the cookie is the browser's doing, not necessarily the citizen's
    presented = presented_session_id(request, state.settings)
    session = await run_in_threadpool(functools.partial(_lookup, state, presented, now, agreed=agreed))
    if session is None:
        raise NotLoggedIn()
    note_caller(request.scope, "session", client_id=state.settings.service_name, subject=session.subject)
    return session


async def logged_in_session(request: Request, state: StateDep, now: NowDep) -> CitizenSession:
    return await _presented_session(request, state, now, agreed=False)


LoggedInSession = Annotated[CitizenSession, Depends(logged_in_session)]


async def agreed_session(request: Request, state: StateDep, now: NowDep) -> CitizenSession:
    """A session whose citizen may use the city services: on the platform, only once the user
    agreement has been agreed to (``superapp_gateway/user_agreement.py``)."""
    return await _presented_session(request, state, now, agreed=True)


CurrentSession = Annotated[CitizenSession, Depends(agreed_session)]
