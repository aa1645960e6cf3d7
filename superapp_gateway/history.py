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

from sqlmodel import Session, col, select

from superapp_gateway.models import JourneyEvent


class History(Protocol):
    def record(self, session: Session, subject: str, journey: str, event: str, details: object, at: datetime) -> None:
        """Keep one step of ``subject``'s ``journey`` (committed here), or nothing."""
        ...

    def of(self, session: Session, subject: str) -> list[JourneyEvent]:
        """What is kept of ``subject``'s journeys, oldest first."""
        ...


class FullHistory:
    """Platform regime: everything the gateway saw, per citizen."""

    def record(self, session: Session, subject: str, journey: str, event: str, details: object, at: datetime) -> None:
        session.add(
            JourneyEvent(
                subject=subject,
                journey=journey,
                event=event,
                details=json.dumps(details, ensure_ascii=False, default=str),
                at=at,
            )
        )
        session.commit()

    def of(self, session: Session, subject: str) -> list[JourneyEvent]:
        return list(
            session.exec(select(JourneyEvent).where(JourneyEvent.subject == subject).order_by(col(JourneyEvent.id)))
        )


class NoHistory:
    """Rights regime: the super-app keeps no journey history."""

    def record(self, session: Session, subject: str, journey: str, event: str, details: object, at: datetime) -> None:
        return None

    def of(self, session: Session, subject: str) -> list[JourneyEvent]:
        return []
