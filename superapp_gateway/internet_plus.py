""" "Internet Plus": a department asks the super-app what it knows about a citizen.

China's "Internet Plus government services" policy has platforms and departments share data so
that citizens "run fewer errands". On the platform (``ShareAsInternetPlusAsks``) a department
holding ``gateway:internet-plus`` names a resident ID and gets everything the operator keeps about
that citizen: the profile the identity provider gave at login, whether and when the citizen
clicked through the user agreement, the full journey history and the wallet's payments. The
disclosure is itself written into the citizen's history, so ``/me/history`` shows it — the only
trace; the user agreement clicked through at sign-up is taken to cover it.

In the rights regime (``ShareNothing``) the super-app holds no resident ID and hands nothing to
anyone: 403 ``not-shared``, without a database read.

The route is ``superapp_gateway/routes.py``'s (a service-to-service route).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel
from sqlmodel import Session, col, select

from kernel.database import Database
from superapp_gateway.errors import CitizenNotFound, NotShared
from superapp_gateway.history import History
from superapp_gateway.models import CitizenSession, UserAgreementAcceptance, WalletPayment

JOURNEY = "internet-plus"


class SharedEvent(BaseModel):
    journey: str
    event: str
    details: object
    at: datetime


class SharedPayment(BaseModel):
    payee: str
    reference: str
    amount_cents: int
    currency: str
    status: str
    created_at: datetime


class SharedAgreement(BaseModel):
    """The click-through user agreement the citizen accepted (superapp_gateway/user_agreement.py)."""

    version: str
    accepted_at: datetime


class SharedCitizen(BaseModel):
    """Everything the platform operator keeps about one citizen, as handed to a department."""

    resident_id: str
    profile: dict[str, object]  # the claims of the citizen's latest login
    user_agreement: SharedAgreement | None  # null: logged in, never tapped "Agree"
    history: list[SharedEvent]
    payments: list[SharedPayment]
    shared_with: str


class Sharing(Protocol):
    def citizen_for(
        self, database: Database, history: History, resident_id: str, department: str, now: datetime
    ) -> SharedCitizen:
        """What the super-app hands ``department`` about ``resident_id`` (``history``: the regime's,
        which also keeps the disclosure)."""
        ...


class ShareAsInternetPlusAsks:
    """Platform: profile, history and payments, to any department with the permission."""

    def citizen_for(
        self, database: Database, history: History, resident_id: str, department: str, now: datetime
    ) -> SharedCitizen:
        with database.session() as session:
            shared = self._shared(session, history, resident_id, department)
        history.record(
            database,
            resident_id,
            JOURNEY,
            f"shared with {department}",
            {"department": department, "history_events": len(shared.history), "payments": len(shared.payments)},
            at=now,
        )
        return shared

    def _shared(self, session: Session, history: History, resident_id: str, department: str) -> SharedCitizen:
        login = session.exec(
            select(CitizenSession)
            .where(CitizenSession.subject == resident_id)
            .order_by(col(CitizenSession.expires_at).desc())
        ).first()
        if login is None:
            raise CitizenNotFound()
        payments = session.exec(
            select(WalletPayment)
            .where(WalletPayment.subject == resident_id)
            .order_by(col(WalletPayment.created_at), col(WalletPayment.id))
        ).all()
        agreed = session.get(UserAgreementAcceptance, resident_id)
        return SharedCitizen(
            resident_id=resident_id,
            profile=json.loads(login.claims),
            shared_with=department,
            user_agreement=SharedAgreement(version=agreed.version, accepted_at=agreed.accepted_at) if agreed else None,
            history=[
                SharedEvent(journey=e.journey, event=e.event, details=json.loads(e.details), at=e.at)
                for e in history.of(session, resident_id)
            ],
            payments=[
                SharedPayment(
                    payee=p.payee,
                    reference=p.reference,
                    amount_cents=p.amount_cents,
                    currency=p.currency,
                    status=p.status.value,
                    created_at=p.created_at,
                )
                for p in payments
            ],
        )


class ShareNothing:
    """Rights: nothing to share, and no resident ID to look up."""

    def citizen_for(
        self, database: Database, history: History, resident_id: str, department: str, now: datetime
    ) -> SharedCitizen:
        raise NotShared()
