"""The route's database session (``kernel.dependencies.database_session``) when its connection died while
the request was abandoned: closed, it logs, and nothing else fails."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from kernel.dependencies import database_session


class LostConnection:
    """A session whose connection the database server has ended: its rollback on close fails."""

    closed = False

    def in_transaction(self) -> bool:
        return True  # it holds a connection: closing sends a ROLLBACK

    def close(self) -> None:
        self.closed = True
        raise OperationalError("ROLLBACK", None, ConnectionError("the connection is lost"))


async def test_a_session_that_cannot_be_closed_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    session = LostConnection()
    state = SimpleNamespace(database=SimpleNamespace(session=lambda: session), session_slots=None)
    dependency = database_session(state)  # type: ignore[arg-type]
    yielded: object = await anext(dependency)
    assert yielded is session
    with caplog.at_level(logging.WARNING, logger="citygate.database"):
        await dependency.aclose()  # as an abandoned request's generator is closed
    assert session.closed
    assert "could not be closed cleanly: ConnectionError" in caplog.text


async def test_any_other_failure_on_close_still_surfaces() -> None:
    class Broken:
        def in_transaction(self) -> bool:
            return False

        def close(self) -> None:
            raise RuntimeError("a bug, not a lost connection")

    state = SimpleNamespace(database=SimpleNamespace(session=Broken), session_slots=None)
    dependency = database_session(state)  # type: ignore[arg-type]
    await anext(dependency)
    with pytest.raises(RuntimeError):
        await dependency.aclose()
