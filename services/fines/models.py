"""The traffic police's tables and the bodies of its API.

Vehicles (plate -> the owner's subject), the fines cameras and parking wardens record against
them, the payments that settle them (each is also the receipt), and the outbox of what is still
to be told to the credit-sharing platform (platform regime only; see ``credit_reporting``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, StringConstraints
from sqlalchemy import Index, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kernel.bounds import MAX_CENTS, AwareInstant, Day
from kernel.database import UtcDateTime
from kernel.resident_id import ResidentIdNumber


class FinesTable(SQLModel, registry=registry()):
    """Base of the traffic police's own tables."""


class FineStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    OVERDUE = "overdue"  # unpaid after its due date (services.fines.domain.status_on)


class FineSource(StrEnum):
    """Who recorded the offence."""

    CAMERA = "camera"
    PARKING_WARDEN = "parking-warden"


# A plate as China's plates read (GA 36): the province's character, the issuing city's letter, then
# five characters (six on a new-energy vehicle's plate), e.g. 粤A12345.
PLATE_PATTERN = r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}$"
Plate = Annotated[str, StringConstraints(pattern=PLATE_PATTERN, max_length=8)]
MAX_FINE_REFERENCE_LENGTH = 100
# visible ASCII (RFC 9110's VCHAR): a capture id as a camera writes it, no space, no control character
FineReference = Annotated[
    str, StringConstraints(pattern=r"^[!-~]+$", min_length=1, max_length=MAX_FINE_REFERENCE_LENGTH)
]
Wording = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


# --- vehicles -----------------------------------------------------------------------------------


class Vehicle(FinesTable, table=True):
    plate: str = Field(primary_key=True, max_length=20)
    # whatever identifier the regime gives this department: resident ID or sector pseudonym
    owner_ref: str = Field(index=True, max_length=200)


class VehicleRegistration(BaseModel):
    """What the vehicle registry registers: a plate and the resident ID on its owner's registration."""

    plate: Plate
    owner_resident_id: ResidentIdNumber


class RegisteredVehicle(BaseModel):
    plate: str
    owner_ref: str = Field(description="Whom the department knows the owner by: resident ID or sector pseudonym")


# --- fines --------------------------------------------------------------------------------------


class FineBase(FinesTable):
    plate: str = Field(foreign_key="vehicle.plate", index=True, max_length=20)
    offence: str = Field(max_length=200)
    place: str = Field(max_length=200)
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    amount_cents: int = Field(ge=0, description="The amount due, in fen (1/100 yuan).")
    due_date: date = Field(description="The last day to pay (China Standard Time); overdue from the day after.")
    source: FineSource = FineSource.CAMERA


class Fine(FineBase, table=True):
    __table_args__ = (
        UniqueConstraint("reference", name="uq_fine_reference"),
        # the worker's sweep finds the unpaid fines past their date by this, not by reading every fine
        Index("ix_fine_status_due_date", "status", "due_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The camera's capture id (or the warden's ticket number): a fine is recorded once per reference.
    # Fines recorded before references were kept have none.
    reference: str | None = Field(default=None, max_length=MAX_FINE_REFERENCE_LENGTH)
    # The stored status: "overdue" is written by the sweep (domain.mark_overdue_fines), "paid" by
    # a payment. What the API shows is domain.status_on(fine, today), which never lags the sweep.
    status: FineStatus = FineStatus.UNPAID
    paid_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class FineCreate(FineBase):
    """What a camera or a parking warden records."""


class FineRecord(BaseModel):
    """What a camera (or a parking warden) sends when it records an offence."""

    reference: FineReference = Field(description="The capture id (the warden's ticket number): one fine per reference")
    plate: Plate
    offence: Wording
    place: Wording
    occurred_at: AwareInstant
    amount_cents: int = Field(ge=1, le=MAX_CENTS, description="The amount due, in fen (1/100 yuan).")
    due_date: Day = Field(description="The last day to pay (China Standard Time); overdue from the day after.")
    source: FineSource = FineSource.CAMERA

    def draft(self) -> FineCreate:
        return FineCreate.model_validate(self.model_dump(exclude={"reference"}))


class FinePublic(FineBase):
    id: int
    status: FineStatus = Field(description="unpaid, paid, or overdue (unpaid after its due date), as of today.")
    paid_at: datetime | None = None


class RecordedFine(FinePublic):
    """A fine as the camera's record of it is answered: with its reference."""

    reference: str


# --- payments (each one is also the receipt) ----------------------------------------------------


class PaymentBase(FinesTable):
    receipt_id: str = Field(unique=True, max_length=64)
    fine_id: int = Field(foreign_key="fine.id", unique=True, description="A fine is paid once.")
    amount_cents: int = Field(ge=0)
    currency: str = Field(default="CNY", max_length=3)
    paid_at: datetime = Field(sa_type=UtcDateTime)
    payment_id: str = Field(unique=True, max_length=200, description="The wallet's id of the charge.")


class Payment(PaymentBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # The Idempotency-Key the payment was made under: a repeated request finds this row.
    idempotency_key: str = Field(unique=True, max_length=255)
    # SHA-256 over what the request asked for (fine and confirmation claims, not the signature
    # bytes), so the same key with another payload is recognised and refused.
    request_fingerprint: str = Field(max_length=64)
    # who paid, as the wallet's confirmation names them (platform: the owner's resident ID, checked;
    # rights: the wallet's opaque per-payment value), and the signed confirmation itself, kept so
    # the payment can be shown later
    payer_ref: str = Field(max_length=200)
    confirmation: str = Field(sa_type=Text)


class PaymentCreate(SQLModel):
    confirmation: str = Field(
        min_length=1,
        max_length=8192,
        description="The wallet's signed payment confirmation (a compact JWS, typ payment+jwt).",
    )


class ReceiptPublic(PaymentBase):
    """What the citizen keeps: the receipt."""


# --- the credit-platform outbox (platform regime only) ------------------------------------------


class OutboxAction(StrEnum):
    REPORT = "report"  # POST /records: the fine is overdue
    SETTLE = "settle"  # POST /records/fines/{reference}/settlement: the reported fine was paid


class CreditOutboxEntry(FinesTable, table=True):
    """Something to tell the credit platform, written in the same transaction as the change it
    describes and deleted never: ``delivered_at`` marks it sent. One entry per (action, fine)."""

    __tablename__ = "credit_outbox"
    __table_args__ = (UniqueConstraint("action", "fine_id", name="uq_credit_outbox_action_fine"),)

    id: int | None = Field(default=None, primary_key=True)
    action: OutboxAction
    fine_id: int = Field(foreign_key="fine.id", index=True)
    subject: str | None = Field(default=None, max_length=200, description="report only: the resident ID")
    amount_cents: int
    occurred_at: datetime = Field(sa_type=UtcDateTime, description="when the fine fell overdue / was paid")
    created_at: datetime = Field(sa_type=UtcDateTime)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
