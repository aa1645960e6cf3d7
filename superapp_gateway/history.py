"""The platform's journey history: every step a citizen takes in the super-app, kept by the operator.

In the platform regime the super-app keeps the citizen's profile and a full history of every
journey (what was paid, which appointment of what type, which medication) — the seed documents'
model, and what the exposure probe finds in its database. In the rights regime nothing is kept
(``NoHistory``): the gateway stores only what it needs to route and to take a payment (the
wallet's payment rows).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Text
from sqlmodel import Column, Field, select

from superapp_gateway.models import GatewayTable


class JourneyEvent(GatewayTable, table=True):
    __tablename__ = "journey_event"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, max_length=200)  # the session's subject: the resident ID here
    journey: str = Field(max_length=40)
    event: str = Field(max_length=80)
    details: str = Field(sa_column=Column(Text, nullable=False))  # JSON: what the platform saw
    at: datetime


class History(Protocol):
    def record(self, app, subject: str, journey: str, event: str, details: object) -> None: ...

    def of(self, app, subject: str) -> list[JourneyEvent]: ...


class FullHistory:
    """Platform regime: everything the gateway saw, per citizen."""

    def record(self, app, subject: str, journey: str, event: str, details: object) -> None:
        with app.state.database.session() as session:
            session.add(
                JourneyEvent(
                    subject=subject,
                    journey=journey,
                    event=event,
                    details=json.dumps(details, ensure_ascii=False, default=str),
                    at=datetime.now(UTC),
                )
            )
            session.commit()

    def of(self, app, subject: str) -> list[JourneyEvent]:
        with app.state.database.session() as session:
            return list(
                session.exec(select(JourneyEvent).where(JourneyEvent.subject == subject).order_by(JourneyEvent.id))
            )


class NoHistory:
    """Rights regime: the super-app keeps no journey history."""

    def record(self, app, subject: str, journey: str, event: str, details: object) -> None:
        return None

    def of(self, app, subject: str) -> list[JourneyEvent]:
        return []
