"""Which citizen a sector's pseudonym denotes, as the consent service knows them.

A department or holder names the citizen by its own sector's pseudonym; the consent service files
everything under its own pseudonym (``citizen_key``) so the citizen sees one complete record. The
identity service answers the link once (``POST /sector-subjects/links``, a call only this service
may make); the answer is kept (``SubjectLink``), so the decision endpoint on every read does not wait for it.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError

from consent.errors import SubjectUnknown
from consent.models import SubjectLink
from kernel.client import ServiceClient, raise_for_upstream_problem
from kernel.database import Database

LINK_CACHE_SIZE = 65536


class SubjectLinks:
    """The links the service knows: in its database, and the recent ones in memory too."""

    def __init__(self, database: Database) -> None:
        self.database = database
        # (client, pseudonym) -> citizen key; a link never changes once made
        self._cache: dict[tuple[str, str], str] = {}

    async def citizen_key_of(self, services: ServiceClient, client: str, subject: str) -> str:
        """The consent service's own pseudonym for the citizen ``client`` calls ``subject``
        (asked of the identity service through ``services`` the first time)."""
        # A link never changes once made, so the decision endpoint answers known ones from memory.
        if known := self._cache.get((client, subject)):
            return known
        citizen_key = await self._look_up(services, client, subject)
        if len(self._cache) >= LINK_CACHE_SIZE:
            self._cache.clear()
        self._cache[(client, subject)] = citizen_key
        return citizen_key

    def forget(self, citizen_keys: list[str]) -> None:
        """Drop the remembered links to ``citizen_keys`` (their rows are deleted by the demo reset)."""
        gone = set(citizen_keys)
        for key in [key for key, citizen_key in self._cache.items() if citizen_key in gone]:
            del self._cache[key]

    async def _look_up(self, services: ServiceClient, client: str, subject: str) -> str:
        if known := await run_in_threadpool(self._known, client, subject):
            return known
        response = await services.request(
            "identity", "POST", "/sector-subjects/links", json={"client": client, "subject": subject}
        )
        if response.status_code == 404:
            raise SubjectUnknown(client)
        raise_for_upstream_problem("identity", response)
        citizen_key = str(response.json()["subject"])
        await run_in_threadpool(self._remember, client, subject, citizen_key)
        return citizen_key

    def _known(self, client: str, subject: str) -> str | None:
        with self.database.session() as session:
            link = session.get(SubjectLink, (client, subject))
            return link.citizen_key if link else None

    def _remember(self, client: str, subject: str, citizen_key: str) -> None:
        with self.database.session() as session:
            if session.get(SubjectLink, (client, subject)) is None:
                session.add(SubjectLink(client=client, subject=subject, citizen_key=citizen_key))
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()  # a concurrent request remembered the same link first
