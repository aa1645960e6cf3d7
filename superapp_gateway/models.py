"""The gateway's tables, every one of them here: importing this module registers them all in
``GatewayTable.metadata``, which is what the app creates (no other module declares a table)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel

from kernel.database import UtcDateTime


class GatewayTable(SQLModel, registry=registry()):
    """Base of the gateway's own tables."""


class LoginAttempt(GatewayTable, table=True):
    """One login the gateway started: what it must see again when the browser comes back."""

    __tablename__ = "login_attempt"
    state: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(max_length=64)
    code_verifier: str = Field(max_length=128)
    # every login prunes the attempts past their time by this, not by reading every attempt
    created_at: datetime = Field(index=True)


class CitizenSession(GatewayTable, table=True):
    """A citizen logged in to the super-app, known by whatever ``sub`` the regime's provider gave."""

    __tablename__ = "citizen_session"
    id: str = Field(primary_key=True, max_length=64)  # SHA-256 (hex) of the session id; the id is only in the cookie
    subject: str = Field(index=True, max_length=200)
    claims: str = Field(max_length=4000)  # JSON: everything the ID token told the gateway
    acr: str = Field(max_length=100)
    expires_at: datetime


class UserAgreementAcceptance(GatewayTable, table=True):
    """Platform: the citizen clicked "agree" to this version of the user agreement (the only consent asked)."""

    __tablename__ = "user_agreement_acceptance"
    subject: str = Field(primary_key=True, max_length=200)
    version: str = Field(max_length=40)
    accepted_at: datetime = Field(sa_type=UtcDateTime)


class PaymentStatus(StrEnum):
    PENDING = "pending"  # debited; the department has not (yet) given a definitive answer
    COMPLETED = "completed"  # the department took it (its receipt is kept)
    CANCELLED = "cancelled"  # the department refused it; the amount was refunded in the same transaction


class Wallet(GatewayTable, table=True):
    """A citizen's balance, keyed by the session's subject (resident ID or gateway-sector pseudonym)."""

    __tablename__ = "wallet"
    __table_args__ = (CheckConstraint("balance_cents >= 0", name="ck_wallet_balance_not_negative"),)
    subject: str = Field(primary_key=True, max_length=200)
    balance_cents: int
    updated_at: datetime = Field(sa_type=UtcDateTime)


class WalletPayment(GatewayTable, table=True):
    """One payment from a wallet to a department: only what it takes to route it and to take it."""

    __tablename__ = "wallet_payment"
    __table_args__ = (UniqueConstraint("subject", "idempotency_key", name="uq_wallet_payment_subject_key"),)
    # opaque and random; also the Idempotency-Key the department sees, so every retry is one payment there
    id: str = Field(primary_key=True, max_length=64)
    subject: str = Field(foreign_key="wallet.subject", index=True, max_length=200)
    payee: str = Field(max_length=50)  # the department, a service name
    reference: str = Field(max_length=200)  # the department's bill: a fine id, a prescription id
    amount_cents: int
    currency: str = Field(max_length=3)
    idempotency_key: str = Field(max_length=200)  # the citizen's (per citizen), not the department's
    request_fingerprint: str = Field(max_length=64)  # SHA-256 of payee, reference, amount
    status: PaymentStatus = Field(default=PaymentStatus.PENDING, index=True)
    attempts: int = 0  # calls to the department that ended (answered, failed or timed out)
    last_error: str | None = Field(default=None, max_length=500)
    department_receipt: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime, index=True)


class JourneyEvent(GatewayTable, table=True):
    """Platform regime: one step of a citizen's journey, as the gateway saw it (superapp_gateway/history.py)."""

    __tablename__ = "journey_event"
    # a citizen's events in order, one range of the index however many are kept (/me/history's pages)
    __table_args__ = (Index("ix_journey_event_subject_id", "subject", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=200)  # the session's subject: the resident ID here
    journey: str = Field(max_length=40)
    event: str = Field(max_length=80)
    details: str = Field(sa_column=Column(Text, nullable=False))  # JSON: what the platform saw
    at: datetime


class HostedIdCard(GatewayTable, table=True):
    """Platform regime: the card the super-app holds for a citizen, and what it needs to get one
    (superapp_gateway/id_cards.py)."""

    __tablename__ = "hosted_id_card"
    subject: str = Field(primary_key=True, max_length=200)  # the session's subject: the resident ID
    # the identity service's access token from the citizen's last login (aud urn:citygate:identity)
    identity_access_token: str | None = Field(default=None, max_length=4000)
    token_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    holder_key: str | None = Field(default=None, max_length=1000)  # private P-256 JWK: the platform's key
    credential: str | None = Field(default=None, max_length=20000)  # the SD-JWT as issued
    card_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class VehicleFines(SQLModel):
    plate: str
    regime: str
    fines: list[dict]
