"""Sign-up: the platform's one click-through user agreement, the only consent it ever asks.

On the platform (``ClickThroughAgreement``) the first login ends on ``/user-agreement``: a page of
clauses — the real-name account, the profile and journey history the operator keeps, the sharing
with departments and partners that "Internet Plus" asks for — and one "Agree" button. Until the
citizen has agreed to the current version, every city service answers 403 ``agreement-required``.
Agreeing once covers everything that follows, as the seed documents describe Alipay's and WeChat's
service agreements.

The rights regime (``NoBlanketAgreement``) asks no blanket consent: the super-app's terms cover
the wallet and routing only, and each use of personal data is asked for, and logged, in the
consent ledger when it happens.

The pages are ``superapp_gateway/user_agreement_routes.py``'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from kernel.regime import Regime
from superapp_gateway.errors import AgreementRequired, AgreementVersionMismatch, NoBlanketConsent
from superapp_gateway.models import UserAgreementAcceptance

AGREEMENT_PATH = "/user-agreement"
AFTER_LOGIN_PATH = "/me"
PLATFORM_VERSION = "2026-11"
PLATFORM_CLAUSES = (
    "Your account is a real-name account, linked to your resident identity number.",
    "We keep your profile and a record of every city service you use through the app: what you paid, "
    "which appointments you booked and of what type, which prescriptions you were issued and collected.",
    "We share this information with government departments and our partners as the Internet Plus "
    "government services policy requires, so that you need not provide it again.",
    "By tapping \u201cAgree\u201d you consent to all of the above. There is nothing else to consent to.",
)
RIGHTS_TERMS = (
    "The super-app routes your requests and runs your wallet. It keeps your wallet payments (payee, "
    "reference, amount) and nothing about the journeys themselves.",
    "There is no blanket consent: whenever a department or a service wants to use your data, it asks you "
    "for that use in your consent app, and every use is logged where you can see it.",
)


class AgreementPublic(BaseModel):
    regime: Regime
    version: str | None = Field(description="The version to agree to; null where there is nothing to agree to")
    clauses: list[str]
    accepted_at: datetime | None = None


class AgreementAcceptance(BaseModel):
    version: str = Field(min_length=1, max_length=40)


class SignUp(Protocol):
    def landing_after_login(self, session: Session, subject: str) -> str:
        """Where the browser goes after the identity provider sent it back."""
        ...

    def require_agreed(self, session: Session, subject: str) -> None:
        """Raise unless the citizen may use the city services."""
        ...

    def agreement(self, session: Session, subject: str | None) -> AgreementPublic: ...

    def accept(self, session: Session, subject: str, version: str, now: datetime) -> AgreementPublic: ...


class ClickThroughAgreement:
    """Platform: one agreement at sign-up, and nothing works before it."""

    def landing_after_login(self, session: Session, subject: str) -> str:
        return AFTER_LOGIN_PATH if self._accepted(session, subject) else AGREEMENT_PATH

    def require_agreed(self, session: Session, subject: str) -> None:
        if self._accepted(session, subject) is None:
            raise AgreementRequired(AGREEMENT_PATH)

    def agreement(self, session: Session, subject: str | None) -> AgreementPublic:
        accepted = self._accepted(session, subject) if subject else None
        return AgreementPublic(
            regime=Regime.PLATFORM,
            version=PLATFORM_VERSION,
            clauses=list(PLATFORM_CLAUSES),
            accepted_at=accepted.accepted_at if accepted else None,
        )

    def accept(self, session: Session, subject: str, version: str, now: datetime) -> AgreementPublic:
        if version != PLATFORM_VERSION:
            raise AgreementVersionMismatch(version, PLATFORM_VERSION)
        earlier = session.get(UserAgreementAcceptance, subject)
        # agreeing twice to one version changes nothing; agreeing to a new version replaces the old
        if earlier is None or earlier.version != version:
            session.merge(UserAgreementAcceptance(subject=subject, version=version, accepted_at=now))
            try:
                session.commit()
            except IntegrityError:  # a concurrent first "Agree" by the same citizen stored it first
                session.rollback()
        return self.agreement(session, subject)

    def _accepted(self, session: Session, subject: str) -> UserAgreementAcceptance | None:
        accepted = session.get(UserAgreementAcceptance, subject)
        return accepted if accepted is not None and accepted.version == PLATFORM_VERSION else None


class NoBlanketAgreement:
    """Rights: nothing to click through; each use of data is consented to on its own."""

    def landing_after_login(self, session: Session, subject: str) -> str:
        return AFTER_LOGIN_PATH

    def require_agreed(self, session: Session, subject: str) -> None:
        return None

    def agreement(self, session: Session, subject: str | None) -> AgreementPublic:
        return AgreementPublic(regime=Regime.RIGHTS, version=None, clauses=list(RIGHTS_TERMS))

    def accept(self, session: Session, subject: str, version: str, now: datetime) -> AgreementPublic:
        raise NoBlanketConsent()
