"""The hospital and pharmacy's tables, and the bodies of its API.

A prescription is split in two on purpose:

- ``prescription`` — the *process record* the department keeps in both regimes: who the patient
  is (the subject the health sector knows them by), what it costs, and where it is in its life
  (issued → paid → dispensed, then a delivery order). No health data.
- its *contents* — medication, dose, quantity, diagnosis (ICD-10) and prescriber, the most
  sensitive attributes in the system. Where they live is the regime's choice
  (``services.prescriptions.stores``): the ``prescription_content`` table here (platform), or the
  citizen's personal data pod, with only ``pod_ref`` kept here (rights).

The courier's delivery order (``delivery_order``) holds a parcel id and an address and nothing
else; the link from a prescription to its parcel is on the prescription's side.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, field_validator
from sqlalchemy import DateTime, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel

from kernel.bounds import MAX_CENTS
from kernel.resident_id import ResidentIdNumber

CURRENCY = "CNY"
MAX_REFERENCE_LENGTH = 100
# visible ASCII (RFC 9110's VCHAR), as an order number in the doctor's system is written
HospitalReference = Annotated[
    str, StringConstraints(pattern=r"^[!-~]+$", min_length=1, max_length=MAX_REFERENCE_LENGTH)
]
# ICD-10 as the WHO and China's GB/T 14396 write it: a letter, two digits, optionally a dot and
# up to four more characters (E11.9 type 2 diabetes without complications, U07.1 COVID-19).
ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")


class PrescriptionsTable(SQLModel, registry=registry()):
    """Base of the hospital and pharmacy's own tables."""


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored as UTC; PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class PrescriptionStatus(StrEnum):
    ISSUED = "issued"
    PAID = "paid"
    DISPENSED = "dispensed"


class ContentsLocation(StrEnum):
    """Where a prescription's contents are kept (chosen by the regime's policy)."""

    DEPARTMENT = "department"  # the prescription_content table of this database
    POD = "pod"  # the patient's personal data pod; pod_ref says where


# --- the contents (health data) -------------------------------------------------------------------


class PrescriptionContents(PrescriptionsTable):
    """What the doctor prescribed and why: the part that is health data."""

    prescriber: str = Field(
        min_length=1, max_length=200, schema_extra={"examples": ["Dr. Huang Lei, Guangzhou First People's Hospital"]}
    )
    medication: str = Field(min_length=1, max_length=200, schema_extra={"examples": ["Metformin hydrochloride"]})
    dose: str = Field(min_length=1, max_length=200, schema_extra={"examples": ["500 mg twice daily with meals"]})
    quantity: int = Field(gt=0, le=10000, description="Units to dispense (tablets, capsules, …).")
    diagnosis_code: str = Field(max_length=8, description="ICD-10 code of the diagnosis, e.g. E11.9.")

    @field_validator("prescriber", "medication", "dose", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("diagnosis_code", mode="before")
    @classmethod
    def _icd10(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper()
            if not ICD10.fullmatch(value):
                raise ValueError("not an ICD-10 code (a letter, two digits, optionally '.' and up to 4 more)")
        return value


class PrescriptionContent(PrescriptionsTable, table=True):
    """The contents, kept in the department's database (platform regime only)."""

    __tablename__ = "prescription_content"

    prescription_id: str = Field(primary_key=True, foreign_key="prescription.id", max_length=40)
    prescriber: str = Field(max_length=200)
    medication: str = Field(max_length=200)
    dose: str = Field(max_length=200)
    quantity: int
    diagnosis_code: str = Field(max_length=8)


# --- the prescription (process record) ------------------------------------------------------------


class PrescriptionCreate(PrescriptionContents):
    """What issuing takes: the contents, for whom, and what the patient pays."""

    patient: str = Field(
        min_length=1, max_length=200, description="The subject the health sector knows the patient by."
    )
    amount_cents: int = Field(ge=0, le=100_000_000, description="What the patient pays, in fen (1/100 yuan).")
    pod: str | None = Field(
        default=None,
        max_length=500,
        description=(
            "Rights regime: the patient's pod (storage URL, as the patient's app shows it), where the "
            "contents are kept. Ignored on the platform, which keeps them itself."
        ),
    )


class HospitalPrescriptionCreate(PrescriptionContents):
    """What a doctor at the hospital issues (``POST /hospital/prescriptions``): the contents, for the patient
    whose ID card the doctor has seen, at the price the hospital charges."""

    reference: HospitalReference = Field(
        description="The hospital's own reference (visible ASCII): one prescription per reference"
    )
    patient_resident_id: ResidentIdNumber
    amount_cents: int = Field(ge=0, le=MAX_CENTS, description="What the patient pays, in fen (1/100 yuan).")
    pod: str | None = Field(
        default=None,
        max_length=500,
        description=(
            "Rights regime: the patient's pod (storage URL, as her app shows it), where the contents are "
            "deposited. Ignored on the platform, which keeps them itself."
        ),
    )

    def draft(self, patient: str) -> PrescriptionCreate:
        """The issuing of it, for ``patient``: the subject the health sector knows the patient by."""
        return PrescriptionCreate.model_validate(
            self.model_dump(exclude={"reference", "patient_resident_id"}) | {"patient": patient}
        )


class Prescription(PrescriptionsTable, table=True):
    __table_args__ = (UniqueConstraint("reference", name="uq_prescription_reference"),)

    id: str = Field(primary_key=True, max_length=40)
    # The hospital's own reference for a prescription its doctor issued at the hospital (its order number
    # in the doctor's system): issued once per reference. None for online consultations.
    reference: str | None = Field(default=None, max_length=MAX_REFERENCE_LENGTH)
    # whatever identifier the regime gives this department: resident ID or health-sector pseudonym
    patient: str = Field(index=True, max_length=200)
    amount_cents: int
    currency: str = Field(default=CURRENCY, max_length=3)
    issued_at: datetime = Field(sa_type=DateTime(timezone=True))
    status: PrescriptionStatus = PrescriptionStatus.ISSUED
    paid_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    dispensed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    pharmacy: str | None = Field(default=None, max_length=200)
    parcel_id: str | None = Field(default=None, foreign_key="delivery_order.parcel_id", unique=True, max_length=40)
    contents_in: ContentsLocation
    pod_ref: str | None = Field(
        default=None, max_length=2000, description="Where the contents are in the patient's pod (rights regime)."
    )
    # The consent service's artefacts about THIS patient that the pod is asked to decide on (never "any
    # artefact about the pod's owner"), so a deposit or read for her can never land in another's pod.
    keeping_basis_id: str | None = Field(
        default=None, max_length=40, description="Rights regime: the hospital's legal basis for keeping it"
    )
    dispensing_consent_id: str | None = Field(
        default=None, max_length=40, description="Rights regime: her consent for the pharmacy to read it"
    )
    contents_digest: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "Rights regime: SHA-256 (hex) of the RFC 8785 canonical payload the hospital signed and deposited; "
            "the pharmacy dispenses only a document whose signed payload has this digest."
        ),
    )


class Signature(SQLModel):
    """Who signed the contents shown, and whether the signature was checked (rights regime)."""

    signed_by: str = Field(default="hospital", description="The hospital (the prescriptions service's key)")
    verified: bool = Field(
        description="The signature verified, bound to this prescription, with the digest the hospital recorded at issue"
    )


class SignedContents(PrescriptionContents):
    """Contents read back from the patient's pod, with what was checked about them."""

    signature: Signature


class PrescriptionPublic(PrescriptionContents):
    id: str
    patient: str
    amount_cents: int
    currency: str
    issued_at: UtcDatetime
    status: PrescriptionStatus
    paid_at: UtcDatetime | None
    dispensed_at: UtcDatetime | None
    pharmacy: str | None
    parcel_id: str | None
    signature: Signature | None = Field(
        default=None,
        description=(
            "Rights regime: the hospital's signature over these contents, as deposited in the patient's pod "
            "(platform: none, the department's own database holds them)"
        ),
    )


class IssuedPrescription(PrescriptionPublic):
    """A prescription as the doctor's desk is answered: with the hospital's reference."""

    reference: str


# --- payments -------------------------------------------------------------------------------------


class Payment(PrescriptionsTable, table=True):
    """One per prescription: the wallet's confirmation, filed with what it asserted."""

    id: str = Field(primary_key=True, max_length=40)
    prescription_id: str = Field(foreign_key="prescription.id", unique=True, max_length=40)
    idempotency_key: str = Field(unique=True, max_length=200)
    fingerprint: str = Field(max_length=64, description="SHA-256 of what the confirmation asserted, sans iat.")
    payment_id: str = Field(max_length=200, description="The wallet's id for the payment.")
    payer: str = Field(max_length=200)
    amount_cents: int
    currency: str = Field(max_length=3)
    confirmation: str = Field(sa_column=Column(Text, nullable=False))
    paid_at: datetime = Field(sa_type=DateTime(timezone=True))


class PaymentCreate(SQLModel):
    confirmation: str = Field(
        min_length=1, max_length=16_000, description="The wallet's signed payment confirmation (a payment+jwt JWS)."
    )


class Receipt(SQLModel):
    receipt_id: str
    prescription_id: str
    payment_id: str
    amount_cents: int
    currency: str
    paid_at: UtcDatetime
    idempotency_key: str


# --- dispensing -----------------------------------------------------------------------------------


class DispensationCreate(SQLModel):
    pharmacy: str = Field(min_length=1, max_length=200, schema_extra={"examples": ["Liwan Dashenlin Pharmacy"]})

    @field_validator("pharmacy", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class DispensationPublic(SQLModel):
    """What the pharmacy hands over: what to dispense, not why (no diagnosis)."""

    prescription_id: str
    pharmacy: str
    dispensed_at: UtcDatetime
    medication: str
    dose: str
    quantity: int


# --- delivery -------------------------------------------------------------------------------------

PARCEL_COURIER = "parcel-courier"  # the third party that carries the parcel: it gets a parcel id and an address


class DeliveryOrderBase(PrescriptionsTable):
    address: str = Field(min_length=1, max_length=500)


class DeliveryOrder(DeliveryOrderBase, table=True):
    """The courier's order: a parcel and where it goes. Nothing says what is in it or for whom."""

    __tablename__ = "delivery_order"

    parcel_id: str = Field(primary_key=True, max_length=40)


class DeliveryOrderCreate(DeliveryOrderBase):
    @field_validator("address", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class DeliveryOrderPublic(DeliveryOrderBase):
    parcel_id: str
    consent_ledger_index: int | None = Field(
        default=None, description="Rights regime: the consent ledger's entry for the courier receiving the address"
    )
