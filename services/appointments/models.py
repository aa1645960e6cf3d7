"""The civil affairs bureau's tables, and the bodies of its API.

A citizen appears here only as the opaque subject the civil-registry sector knows them by
(the resident ID in the platform regime, the sector pseudonym in the rights regime); the
code never looks inside it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, StringConstraints, model_validator
from sqlalchemy import CheckConstraint, DateTime, Enum, Index, UniqueConstraint, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kernel.bounds import Day, RowId
from kernel.resident_id import ResidentIdNumber


class AppointmentsTable(SQLModel, registry=registry()):
    """Base of the civil affairs bureau's own tables."""


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored as UTC; PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AppointmentType(StrEnum):
    MARRIAGE = "marriage"  # marriage registration: both partners confirm
    DIVORCE = "divorce"  # divorce registration: both spouses confirm
    CERTIFICATE_COPY = "certificate-copy"  # a copy of a marriage or divorce certificate: one citizen

    @property
    def needs_partner(self) -> bool:
        return self is not AppointmentType.CERTIFICATE_COPY


class BookingStatus(StrEnum):
    PENDING = "pending"  # waiting for the partner's confirmation; holds its place until confirm_by
    CONFIRMED = "confirmed"
    LAPSED = "lapsed"  # not confirmed in time: the place was freed
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


def stored_as_value(enum: type[StrEnum]) -> Enum:
    """A VARCHAR holding the member's value ('certificate-copy'), read back as the member; no
    PostgreSQL enum type, so the partial indexes below can name the values in plain SQL."""
    return Enum(enum, native_enum=False, length=20, values_callable=lambda members: [m.value for m in members])


_ACTIVE = text("status IN ('pending', 'confirmed')")


# --- offices --------------------------------------------------------------------------------------


class OfficeBase(AppointmentsTable):
    name: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    address: str = Field(max_length=300)


class Office(OfficeBase, table=True):
    id: str = Field(primary_key=True, max_length=50)


class OfficePublic(OfficeBase):
    id: str


# --- slots ----------------------------------------------------------------------------------------


class SlotBase(AppointmentsTable):
    office_id: str = Field(foreign_key="office.id", index=True, max_length=50)
    type: AppointmentType = Field(sa_type=stored_as_value(AppointmentType))
    starts_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    ends_at: datetime = Field(sa_type=DateTime(timezone=True))
    capacity: int = Field(ge=1)


class Slot(SlotBase, table=True):
    __table_args__ = (
        UniqueConstraint("office_id", "type", "starts_at", name="uq_slot_office_type_start"),
        # The database itself refuses an over-booked slot, whatever the code above it does.
        CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_booked_within_capacity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booked: int = Field(default=0)


class SlotPublic(SlotBase):
    id: int
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    free: int = Field(description="Places still free.")


# --- the marriage register ------------------------------------------------------------------------


class Marriage(AppointmentsTable, table=True):
    """The bureau's register: who is married to whom, so a divorce names the spouse without the
    booking citizen having to know (or type) the other's identifier."""

    __table_args__ = (UniqueConstraint("spouse_a", "spouse_b", name="uq_marriage_spouses"),)

    id: int | None = Field(default=None, primary_key=True)
    spouse_a: str = Field(index=True, max_length=200)
    spouse_b: str = Field(index=True, max_length=200)
    registered_on: date
    dissolved_on: date | None = None


class MarriageRegistration(BaseModel):
    """What the register desk records: the two spouses, by the resident IDs on their papers, and the day."""

    spouses: list[ResidentIdNumber] = Field(min_length=2, max_length=2, description="Two different residents")
    registered_on: Day

    @model_validator(mode="after")
    def _two_people(self) -> MarriageRegistration:
        if self.spouses[0] == self.spouses[1]:
            raise ValueError("a marriage has two different spouses")
        return self


class RegisteredMarriage(BaseModel):
    id: int
    spouses: list[str] = Field(description="As the civil-registry sector knows them, in the order given")
    registered_on: date


# --- bookings -------------------------------------------------------------------------------------


class BookingCreate(AppointmentsTable):
    slot_id: RowId
    type: AppointmentType
    subject: Subject = Field(description="The booking citizen, as the civil-registry sector knows them.")


class Booking(AppointmentsTable, table=True):
    __table_args__ = (
        # One open booking per citizen and appointment type, and one open divorce per marriage:
        # partial unique indexes, so concurrent duplicates meet in the database, not in the code.
        Index(
            "uq_booking_open_per_subject_type",
            "subject",
            "type",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index(
            "uq_booking_open_per_marriage", "marriage_id", unique=True, sqlite_where=_ACTIVE, postgresql_where=_ACTIVE
        ),
        Index("ix_booking_status_confirm_by", "status", "confirm_by"),
    )

    id: str = Field(primary_key=True, max_length=36)  # random: a booking id is not guessable
    slot_id: int = Field(foreign_key="slot.id", index=True)
    type: AppointmentType = Field(sa_type=stored_as_value(AppointmentType))
    # indexed beside the partial unique index (open bookings only): a citizen's bookings are read by it
    subject: str = Field(index=True, max_length=200)
    # divorce: the spouse from the register, from the start; marriage: whoever confirms with the code
    partner_subject: str | None = Field(default=None, index=True, max_length=200)
    marriage_id: int | None = Field(default=None, foreign_key="marriage.id")
    status: BookingStatus = Field(sa_type=stored_as_value(BookingStatus))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    confirm_by: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    partner_confirmed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # marriage only: SHA-256 of the one-time invitation code (the code itself is shown once, to the booker)
    invitation_code_hash: str | None = Field(default=None, max_length=64)
    failed_code_attempts: int = 0
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class BookingPublic(SQLModel):
    """A booking as either party sees it: never the other party's subject."""

    id: str
    slot_id: int
    office_id: str
    type: AppointmentType
    starts_at: UtcDatetime
    status: BookingStatus
    created_at: UtcDatetime
    confirm_by: UtcDatetime | None = Field(
        default=None,
        description="Marriage and divorce: the partner must confirm before this, or the booking lapses.",
    )
    partner_confirmed: bool | None = Field(
        default=None,
        description="Marriage and divorce: whether the partner has confirmed (null for one-person types).",
    )
    closed_at: UtcDatetime | None = None


class BookingCreated(BookingPublic):
    invitation_code: str | None = Field(
        default=None,
        description="Marriage only, shown this once: the booker passes it to the partner, who confirms with it.",
    )


class PartyBooking(BookingPublic):
    role: str = Field(description="'booker' or 'partner': how the asking citizen takes part.")
    awaiting_your_confirmation: bool


class ConfirmationCreate(AppointmentsTable):
    subject: Subject = Field(description="The confirming citizen (authenticated by the gateway).")
    invitation_code: str | None = Field(default=None, max_length=40, description="Marriage: the booker's code.")


class RescheduleRequest(AppointmentsTable):
    slot_id: RowId
    subject: Subject | None = Field(
        default=None,
        description="The acting citizen; when given, must be the booker or the partner.",
    )
