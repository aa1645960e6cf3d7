"""What happened in the synthetic city, as the ground truth records it: the facts the real world's
record-keepers put in (fines, marriages, prescriptions) and every journey a resident went through.

Each record is exactly one JSON object of ``citygate.truth/1`` (``workshop.population.truth``):
its fields are the object's keys, unknown keys are refused, instants are written in UTC ("…Z").
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from kernel.bounds import MAX_CENTS, MAX_REFERENCE_LENGTH
from kernel.regime import Regime

_RECORD = ConfigDict(frozen=True, extra="forbid")

Handle = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(max_length=MAX_REFERENCE_LENGTH)]
Detail = Annotated[str, Field(max_length=2000)]


def _in_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


UtcInstant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
Outcome = Literal["succeeded", "refused", "failed"]


class FineFact(BaseModel):
    """A fine a camera or a warden recorded for a resident's car."""

    model_config = _RECORD
    reference: Text = Field(min_length=1)  # the recorder's own reference ("cam-…"), unique in the truth
    plate: Text
    offence: Text
    place: Text
    occurred_at: UtcInstant
    amount_cents: int = Field(ge=0, le=MAX_CENTS)
    due_date: date


class MarriageFact(BaseModel):
    """A marriage the civil affairs bureau registered."""

    model_config = _RECORD
    spouses: tuple[Handle, Handle]
    registered_on: date


class PrescriptionFact(BaseModel):
    """A prescription a hospital doctor issued for a resident's condition."""

    model_config = _RECORD
    resident: Handle
    diagnosis: Text
    medication: Text


class Facts(BaseModel):
    """Every fact put in so far; the lists grow as populate goes (``facts.fines.append(...)``)."""

    model_config = ConfigDict(extra="forbid")
    fines: list[FineFact] = Field(default_factory=list)
    marriages: list[MarriageFact] = Field(default_factory=list)
    prescriptions: list[PrescriptionFact] = Field(default_factory=list)


class JourneyRecord(BaseModel):
    """One journey one resident went through in one regime, and how it went."""

    model_config = _RECORD
    regime: Regime
    resident: Handle
    partner: Handle | None = None  # the other spouse, in the divorce journey
    journey: Text
    variant: Text  # which path: "pay", "insufficient balance", …
    outcome: Outcome
    detail: Detail = ""
    steps: int = Field(ge=0, le=10_000)
    prompts: int = Field(ge=0, le=10_000)  # how often the citizen was asked something
    milliseconds: float = Field(ge=0, allow_inf_nan=False)
    finished_at: UtcInstant
