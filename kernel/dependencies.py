"""The dependencies every service's routes share, as typed ``Annotated`` aliases.

A route names what it uses (``session: SessionDep``, ``now: NowDep``, ``key: IdempotencyKeyDep``)
and never reads ``request.app.state``. A service adds its own in its ``dependencies.py``: its typed
state (``StateDep``), its settings (``SettingsDep``) and its regime policy (``PolicyDep``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Header, Request
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from kernel.client import ServiceClient
from kernel.clock import Clock
from kernel.problems import IdempotencyKeyMissing, InvalidIdempotencyKey
from kernel.state import ServiceState, state_of

log = logging.getLogger("citygate.database")
T = TypeVar("T")

# The longest Idempotency-Key any service keeps (the payment tables' key columns).
MAX_IDEMPOTENCY_KEY_LENGTH = 200


async def service_state(request: Request) -> ServiceState[Any]:
    return state_of(request.app, ServiceState)


ServiceStateDep = Annotated[ServiceState[Any], Depends(service_state)]


async def service_clock(state: ServiceStateDep) -> Clock:
    return state.clock


async def service_now(state: ServiceStateDep) -> datetime:
    """The service's "now" for this request (its ``clock``, which tests and workshops move)."""
    return state.clock()


ClockDep = Annotated[Clock, Depends(service_clock)]
NowDep = Annotated[datetime, Depends(service_now)]


async def database_session(state: ServiceStateDep) -> AsyncGenerator[Session]:
    """The one way a route gets a database session: the service's own database, closed after the response.

    A session keeps its pooled connection from its first statement until it is closed, and a sync
    route's answer is validated, and its session closed, on a worker thread. Were every connection
    held by routes waiting for a worker thread, and every worker thread by routes waiting for a
    connection, a burst of requests would stall until the pool's timeout (30 s, then 503s; seen on
    concurrent bookings). So routes hold at most ``ServiceState.session_slots`` sessions at once,
    fewer than the pool's connections, and a request waits for a slot without holding a thread:
    what the other connections serve never waits for a thread (tests/kernel/test_session_release.py).

    The close is shielded: a request cancelled mid-way (its client gone, the server stopping) still
    gives its connection back at once. If the connection has died meanwhile, the rollback on close
    can only fail, and nobody is left to answer: that is logged (the pool discards the connection)."""
    slots = state.session_slots
    async with slots if slots is not None else contextlib.nullcontext():
        session = state.database.session()
        try:
            yield session
        finally:
            if session.in_transaction():  # a ROLLBACK to send: not on the event loop
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(_close, session)
            else:
                _close(session)  # no connection held (none taken, or given back by a commit): no I/O


def _close(session: Session) -> None:
    try:
        session.close()
    except OperationalError as error:
        log.warning("a database session could not be closed cleanly: %s", type(error.orig).__name__)


SessionDep = Annotated[Session, Depends(database_session)]


async def read_and_release(session: Session, read: Callable[[], T]) -> T:
    """``read()`` on one worker thread, then the session's transaction ended there too, its connection
    given back to the pool: for an ``async def`` route on a hot read path, whose answer is then checked
    on the event loop and whose session is closed without a thread. A sync route costs three thread
    hand-offs instead (the route, FastAPI's check of its answer, the close). ``read`` returns what the
    answer needs, built from the rows before they expire (the public models, not ORM objects)."""

    def read_then_end() -> T:
        try:
            return read()
        finally:
            session.rollback()  # it only read: nothing to keep, and the connection goes back now

    return await anyio.to_thread.run_sync(read_then_end)


async def service_client(state: ServiceStateDep) -> ServiceClient:
    return state.services


ServicesDep = Annotated[ServiceClient, Depends(service_client)]


async def idempotency_key_header(value: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> str:
    """The request's ``Idempotency-Key`` header, checked (``idempotency_key``)."""
    return idempotency_key(value)


def idempotency_key(value: str | None) -> str:
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


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key_header)]
