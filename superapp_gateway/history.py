"""The platform's journey history: every step a citizen takes in the super-app, kept by the operator.

In the platform regime the super-app keeps the citizen's profile and a full history of every
journey (what was paid, which appointment of what type, which medication) — the seed documents'
model, and what the exposure probe finds in its database. In the rights regime nothing is kept
(``NoHistory``): the gateway stores only what it needs to route and to take a payment (the
wallet's payment rows).

Routes reach it through ``HistoryDep`` (superapp_gateway/dependencies.py): the regime's history,
this request's database session and the service's clock.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert
from sqlmodel import Session, col, func, select

from kernel.database import Database
from superapp_gateway.models import JourneyEvent


class History(Protocol):
    def record(self, database: Database, subject: str, journey: str, event: str, details: object, at: datetime) -> None:
        """Keep one step of ``subject``'s ``journey`` (committed at once, in a transaction of its own), or nothing."""
        ...

    def of(self, session: Session, subject: str) -> list[JourneyEvent]:
        """What is kept of ``subject``'s journeys, oldest first."""
        ...

    def page(self, session: Session, subject: str, *, after: int | None, limit: int) -> list[JourneyEvent]:
        """Up to ``limit`` of ``subject``'s events, oldest first, from the one after event ``after``."""
        ...

    def journeys(self, session: Session, subject: str) -> dict[str, int]:
        """How many events of ``subject`` are kept, per journey."""
        ...


class FullHistory:
    """Platform regime: everything the gateway saw, per citizen."""

    def record(self, database: Database, subject: str, journey: str, event: str, details: object, at: datetime) -> None:
        # one INSERT, not the ORM's unit of work; the platform's own record of what it saw, which a
        # power cut may shorten by its last moments (Database.committed_without_waiting_for_the_disk)
        row = {
            "subject": subject,
            "journey": journey,
            "event": event,
            "details": json.dumps(details, ensure_ascii=False, default=str),
            "at": at,
        }
        with database.committed_without_waiting_for_the_disk() as connection:
            connection.execute(insert(JourneyEvent).values(**row))

    def of(self, session: Session, subject: str) -> list[JourneyEvent]:
        return list(
            session.exec(select(JourneyEvent).where(JourneyEvent.subject == subject).order_by(col(JourneyEvent.id)))
        )

    def page(self, session: Session, subject: str, *, after: int | None, limit: int) -> list[JourneyEvent]:
        # one range of the (subject, id) index, however long the history
        query = select(JourneyEvent).where(JourneyEvent.subject == subject)
        if after is not None:
            query = query.where(col(JourneyEvent.id) > after)
        return list(session.exec(query.order_by(col(JourneyEvent.id)).limit(limit)))

    def journeys(self, session: Session, subject: str) -> dict[str, int]:
        counted = session.exec(
            select(JourneyEvent.journey, func.count())
            .where(JourneyEvent.subject == subject)
            .group_by(col(JourneyEvent.journey))
        )
        return dict(counted.all())


class NoHistory:
    """Rights regime: the super-app keeps no journey history."""

    def record(self, database: Database, subject: str, journey: str, event: str, details: object, at: datetime) -> None:
        return None

    def of(self, session: Session, subject: str) -> list[JourneyEvent]:
        return []

    def page(self, session: Session, subject: str, *, after: int | None, limit: int) -> list[JourneyEvent]:
        return []

    def journeys(self, session: Session, subject: str) -> dict[str, int]:
        return {}
