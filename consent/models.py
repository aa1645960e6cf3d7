"""The consent service's tables, all of them, and what data consumers send and everyone is shown.

Every table the service owns is declared here, on ``ConsentTable``: its metadata is complete as soon
as this module is imported (the database is created, and the migrations generated, from it). The
tables: consent artefacts, the links from a sector's pseudonym to the service's own
(``consent.subjects``), and the transparency ledger's three (``consent.ledger``): ``ledger_entry``
holds each leaf's exact bytes (what the log commits to and publishes) beside what stays private —
the event in clear with the salt that opens the leaf's commitment (``consent.commitments``), and
whose event it is; ``ledger_node`` every perfect node of the Merkle tree, written once by the append
that completes it (leaves at level 0); ``ledger_head`` the committed size.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Integer, LargeBinary, SmallInteger, Text
from sqlalchemy.orm import registry
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from consent.vocabulary import LegalBasis
from kernel.bounds import AwareInstant
from kernel.database import UtcDateTime

SUBJECT_PATTERN = r"^[A-Za-z0-9_\-.:]{1,128}$"
SERVICE_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
ARTEFACT_ID_PATTERN = r"^[A-Za-z0-9-]{1,40}$"
ServiceName = Annotated[str, Field(pattern=SERVICE_PATTERN, max_length=40)]
Term = Annotated[str, Field(max_length=80)]
ResourceUrl = Annotated[str, Field(min_length=1, max_length=500)]


class Status(StrEnum):
    REQUESTED = "requested"
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Mode(StrEnum):
    ONE_TIME = "one-time"
    RECURRING = "recurring"


def _utc_column() -> Column[datetime]:
    return Column(UtcDateTime, nullable=False)


class ConsentTable(SQLModel, registry=registry()):
    """Base of every table the consent service owns: artefacts and the ledger live in its database only."""


class ConsentArtefact(ConsentTable, table=True):
    """One consent (or other legal basis) about one citizen, in its current state.

    ``citizen_key`` is the consent service's own pseudonym of the citizen, so the citizen can find
    every artefact about them; it is never written into the signed receipt or the public ledger.
    ``subject`` is the controller's sector pseudonym, the only identifier the receipt carries.
    """

    __tablename__ = "consent_artefact"

    id: str = TableField(primary_key=True, max_length=40)
    citizen_key: str = TableField(index=True, max_length=128)
    subject: str = TableField(max_length=128)
    controller: str = TableField(max_length=40)
    recipients: list[str] = TableField(sa_column=Column(JSON, nullable=False))
    purposes: list[str] = TableField(sa_column=Column(JSON, nullable=False))
    categories: list[str] = TableField(sa_column=Column(JSON, nullable=False))
    processing: list[str] = TableField(sa_column=Column(JSON, nullable=False))
    # the resources (URLs) it covers; empty: every resource of its categories
    resources: list[str] = TableField(default_factory=list, sa_column=Column(JSON, nullable=False))
    legal_basis: str = TableField(max_length=60)
    law_reference: str | None = TableField(default=None, max_length=300)
    notice: str = TableField(sa_column=Column(Text, nullable=False))
    mode: str = TableField(max_length=20)
    status: str = TableField(max_length=20, index=True)
    created_at: datetime = TableField(sa_column=_utc_column())
    valid_until: datetime = TableField(sa_column=_utc_column())
    version: int = 1
    events: list[dict[str, Any]] = TableField(sa_column=Column(JSON, nullable=False))
    receipt: str = TableField(sa_column=Column(Text, nullable=False))


class SubjectLink(ConsentTable, table=True):
    """Which citizen (``citizen_key``) the caller ``client`` calls ``subject``: asked once, kept."""

    __tablename__ = "consent_subject_link"

    client: str = TableField(primary_key=True, max_length=40)
    subject: str = TableField(primary_key=True, max_length=128)
    citizen_key: str = TableField(max_length=128, index=True)


# SQLite's rowid is the cheapest key there is, but only a column typed exactly INTEGER aliases it
_POSITION = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(ConsentTable, table=True):
    __tablename__ = "ledger_entry"

    index: int = TableField(sa_column=Column("index", _POSITION, primary_key=True, autoincrement=False))
    entry: bytes = TableField(sa_column=Column(LargeBinary, nullable=False))
    # private: the event in clear and the salt of the leaf's commitment, for the citizen's own view
    clear: bytes | None = TableField(default=None, sa_column=Column(LargeBinary, nullable=True))
    salt: bytes | None = TableField(default=None, sa_column=Column(LargeBinary(32), nullable=True))
    # private: whose event this is, for the citizen's own view; never part of the leaf
    citizen_key: str | None = TableField(default=None, index=True)
    recipient: str | None = TableField(default=None, index=True)
    recorded_at: datetime = TableField(sa_column=Column(UtcDateTime, nullable=False))


class LedgerNode(ConsentTable, table=True):
    __tablename__ = "ledger_node"
    # the key is the whole point of the table: no separate rowid b-tree to maintain on SQLite
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = TableField(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = TableField(sa_column=Column("index", BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = TableField(sa_column=Column(LargeBinary(32), nullable=False))


class LedgerHead(ConsentTable, table=True):
    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_ledger_head_single_row"),)

    id: int = TableField(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    size: int = TableField(default=0, sa_column=Column(BigInteger, nullable=False))


# The ledger's tables as SQLAlchemy Core tables, for its bulk writes and its queries of a few columns.
LEDGER_ENTRIES = ConsentTable.metadata.tables["ledger_entry"]
LEDGER_NODES = ConsentTable.metadata.tables["ledger_node"]
LEDGER_HEAD = ConsentTable.metadata.tables["ledger_head"]


class ConsentRequestCreate(BaseModel):
    """A data consumer asks the citizen (known to it by its own sector pseudonym)."""

    subject: str = Field(
        pattern=SUBJECT_PATTERN, max_length=128, description="The citizen, by the caller's sector pseudonym"
    )
    purposes: list[Term] = Field(min_length=1, max_length=10, description="DPV purpose terms, e.g. dpv:DeliveryOfGoods")
    categories: list[Term] = Field(
        min_length=1, max_length=20, description="DPV personal-data terms, e.g. pd:Prescription"
    )
    processing: list[Term] = Field(default=["dpv:Use"], min_length=1, max_length=10)
    recipients: list[ServiceName] = Field(
        default_factory=list, max_length=10, description="Services that will receive the data; the caller when empty"
    )
    resources: list[ResourceUrl] = Field(
        default_factory=list,
        max_length=20,
        description=(
            "The resources (URLs at the data holder, e.g. one prescription in the citizen's pod) the consent is for; "
            "when given, a read of anything else is not covered by it. Empty: every resource of the categories"
        ),
    )
    valid_until: AwareInstant = Field(description="When the consent lapses if not withdrawn earlier (with its zone)")
    mode: Mode = Mode.RECURRING
    notice: str | None = Field(
        default=None,
        max_length=1000,
        description="Why, in the controller's own words; shown beside the generated summary",
    )


class LegalBasisCreate(BaseModel):
    """A department records processing that rests on a basis other than consent, so the citizen sees it."""

    subject: str = Field(pattern=SUBJECT_PATTERN, max_length=128)
    legal_basis: Literal[
        LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION, LegalBasis.OFFICIAL_AUTHORITY, LegalBasis.VITAL_INTEREST
    ]
    law_reference: str = Field(min_length=3, max_length=300, description="The law or contract relied on")
    purposes: list[Term] = Field(min_length=1, max_length=10)
    categories: list[Term] = Field(min_length=1, max_length=20)
    processing: list[Term] = Field(default=["dpv:Use", "dpv:Store"], min_length=1, max_length=10)
    recipients: list[ServiceName] = Field(default_factory=list, max_length=10)
    resources: list[ResourceUrl] = Field(
        default_factory=list,
        max_length=20,
        description=(
            "The resources (URLs at the data holder) the basis is recorded for, e.g. the one record a department "
            "deposits; empty: every resource of the categories"
        ),
    )
    valid_until: AwareInstant


class ArtefactEvent(BaseModel):
    status: Status
    at: datetime
    by: str
    ledger_index: int | None = None
    reason: str | None = None


class ArtefactPublic(BaseModel):
    id: str
    subject: str
    controller: str
    recipients: list[str]
    purposes: list[str]
    categories: list[str]
    processing: list[str]
    resources: list[str] = Field(
        default_factory=list, description="The resources it covers; empty: all of its categories"
    )
    legal_basis: str
    law_reference: str | None
    mode: Mode
    status: Status
    created_at: datetime
    valid_until: datetime
    version: int
    events: list[ArtefactEvent]
    summary: str = Field(description="The request in plain words, as the citizen reads it")
    receipt: str = Field(description="The signed consent receipt: compact JWS over RFC 8785 canonical JSON")


class StatusChange(BaseModel):
    status: Literal[Status.GIVEN, Status.REFUSED, Status.WITHDRAWN]


class DecisionRequest(BaseModel):
    """A data holder asks before releasing: may ``recipient`` read ``category`` of this citizen for ``purpose``?

    Every answer is logged: there is no unlogged "preview" (it was a consent oracle leaving no trace),
    and an unknown member such as the old ``log_access`` is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        pattern=SUBJECT_PATTERN, max_length=128, description="The citizen, by the HOLDER's sector pseudonym"
    )
    recipient: str = Field(pattern=SERVICE_PATTERN, max_length=40)
    category: Term
    purpose: Term
    processing: Term = Field(
        default="dpv:Use", description="What the recipient does: dpv:Use to read, dpv:Store to deposit a record"
    )
    artefact: str | None = Field(
        default=None, max_length=20000, description="The receipt the recipient presented (compact JWS), if any"
    )
    artefact_id: str | None = Field(
        default=None,
        pattern=ARTEFACT_ID_PATTERN,
        max_length=40,
        description=(
            "The artefact the recipient relies on, by id (it names it for the citizen it acts for, e.g. the "
            "patient of a deposit). The decision is made on that artefact alone, so it is refused "
            "(`refusal: subject-mismatch`) when the artefact is about another citizen than `subject`."
        ),
    )
    resource: str | None = Field(default=None, max_length=500, description="What is being read, for the log")


class DecisionPublic(BaseModel):
    permitted: bool
    recipient: str = Field(description="Whom the decision is about: the holder releases only to this department")
    artefact_id: str | None = None
    controller: str | None = Field(default=None, description="The controller of the artefact relied on")
    legal_basis: str | None = Field(
        default=None, description="Its legal basis; any but dpv:Consent covers only its controller"
    )
    reason: str | None = None
    refusal: str | None = Field(
        default=None,
        description=(
            "Why, as a code, when it matters to the caller: `subject-mismatch` (the named artefact is about another "
            "citizen than the one whose data this is)"
        ),
    )
    ledger_index: int | None = Field(
        default=None, description="The access's (or refusal's) entry in the transparency ledger"
    )


class ErasureCreate(BaseModel):
    """A holder erased a citizen's data (the citizen asked); the ledger records only that it happened."""

    subject: str = Field(
        pattern=SUBJECT_PATTERN, max_length=128, description="The citizen, by the holder's sector pseudonym"
    )
    scope: str = Field(min_length=1, max_length=200, description="What was erased, in words (e.g. 'the whole pod')")


class ErasurePublic(BaseModel):
    ledger_index: int
