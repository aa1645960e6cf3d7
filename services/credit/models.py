"""The credit-sharing platform's records, and the bodies of its API.

One row per thing a department reported about a citizen, keyed on the resident ID: the
platform regime's universal identifier is what lets "loss of credit in one area" be
"punished across all areas" (``services.credit.rules``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator
from sqlalchemy import DateTime, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kernel.bounds import MAX_CENTS
from services.credit.rules import RecordKind, RestrictedService


class CreditTable(SQLModel, registry=registry()):
    """Base of the credit platform's own tables."""


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored as UTC; PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class CreditRecordCreate(CreditTable):
    """What a department pushes. The source department is the caller, taken from its token."""

    subject: str = Field(
        index=True,
        max_length=18,
        description="The citizen's 18-character resident identity number (GB 11643-1999).",
        schema_extra={"examples": ["440104199008232150"]},
    )
    kind: RecordKind
    reference: str = Field(
        min_length=1,
        max_length=200,
        description="The source department's own reference for what is reported, e.g. the fine's id.",
    )
    amount_cents: int = Field(ge=0, le=MAX_CENTS, description="The amount owed, in fen (1/100 yuan).")


class CreditRecordBase(CreditRecordCreate):
    source: str = Field(max_length=100, description="The department that reported it (its client id).")
    recorded_at: datetime = Field(sa_type=DateTime(timezone=True))
    settled_at: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        description="When the source reported the debt settled.",
    )
    effective_at: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        description="When the settlement reaches the blacklists (settled_at + the propagation lag); "
        "until then the record still restricts.",
    )


class CreditRecord(CreditRecordBase, table=True):
    __tablename__ = "credit_record"
    __table_args__ = (UniqueConstraint("source", "reference", name="uq_credit_record_source_reference"),)

    id: int | None = Field(default=None, primary_key=True)


class CreditRecordPublic(CreditRecordBase):
    id: int
    recorded_at: UtcDatetime
    settled_at: UtcDatetime | None = None
    effective_at: UtcDatetime | None = None


class RestrictionReason(SQLModel):
    """One active record that restricts the asked-about service."""

    kind: RecordKind
    source: str
    reference: str
    recorded_at: UtcDatetime
    settled_at: UtcDatetime | None = Field(
        description="Set when the debt was settled but the settlement is not yet effective: "
        "the citizen paid and is still restricted.",
    )
    effective_at: UtcDatetime | None = None
    measure: str = Field(description="How the service restricts the citizen (services.credit.rules).")


class RestrictionsPublic(SQLModel):
    subject: str
    service: RestrictedService
    restricted: bool
    reasons: list[RestrictionReason]
