"""The dependencies every service's routes share, as typed ``Annotated`` aliases.

A route names what it uses (``session: SessionDep``, ``now: NowDep``, ``key: IdempotencyKeyDep``)
and never reads ``request.app.state``. A service adds its own in its ``dependencies.py``: its typed
state (``StateDep``), its settings (``SettingsDep``) and its regime policy (``PolicyDep``).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from kernel.client import ServiceClient
from kernel.clock import Clock
from kernel.problems import IdempotencyKeyMissing, InvalidIdempotencyKey
from kernel.state import ServiceState, state_of

log = logging.getLogger("citygate.database")

# The longest Idempotency-Key any service keeps (the payment tables' key columns).
MAX_IDEMPOTENCY_KEY_LENGTH = 200


def service_state(request: Request) -> ServiceState[Any]:
    return state_of(request.app, ServiceState)


ServiceStateDep = Annotated[ServiceState[Any], Depends(service_state)]


def service_clock(state: ServiceStateDep) -> Clock:
    return state.clock


def service_now(state: ServiceStateDep) -> datetime:
    """The service's "now" for this request (its ``clock``, which tests and workshops move)."""
    return state.clock()


ClockDep = Annotated[Clock, Depends(service_clock)]
NowDep = Annotated[datetime, Depends(service_now)]


def database_session(state: ServiceStateDep) -> Generator[Session]:
    """The one way a route gets a database session: the service's own database, closed after the response.

    A request cancelled mid-way (its client gone, the server stopping) leaves this generator to be
    closed later, by the garbage collector; if the session's connection has died meanwhile, its
    rollback on close can only fail. Nobody is left to answer then: the failure is logged (the pool
    discards the connection) instead of surfacing as an error "ignored" in whatever runs next."""
    session = state.database.session()
    try:
        yield session
    finally:
        try:
            session.close()
        except OperationalError as error:
            log.warning("a database session could not be closed cleanly: %s", type(error.orig).__name__)


SessionDep = Annotated[Session, Depends(database_session)]


def service_client(state: ServiceStateDep) -> ServiceClient:
    return state.services


ServicesDep = Annotated[ServiceClient, Depends(service_client)]


def idempotency_key(value: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> str:
    """A request that must never take effect twice names itself; the same key again is the same request."""
    if value is None:
        raise IdempotencyKeyMissing(
            "This request needs an Idempotency-Key header, so that sending it again never repeats it."
        )
    # visible ASCII (RFC 9110's VCHAR): no space, no control character
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all("!" <= char <= "~" for char in value):
        raise InvalidIdempotencyKey(
            f"The Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters."
        )
    return value


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]
