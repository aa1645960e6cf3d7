from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class FinesTable(SQLModel, registry=registry()):
    """Base of the traffic police's own tables."""


class FineStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    OVERDUE = "overdue"


class Vehicle(FinesTable, table=True):
    plate: str = Field(primary_key=True, max_length=20)
    # whatever identifier the regime gives this department: resident ID or sector pseudonym
    owner_ref: str = Field(index=True, max_length=200)


class FineBase(FinesTable):
    plate: str = Field(foreign_key="vehicle.plate", index=True, max_length=20)
    offence: str = Field(max_length=200)
    place: str = Field(max_length=200)
    occurred_at: datetime
    amount_cents: int = Field(ge=0)
    due_date: date
    status: FineStatus = FineStatus.UNPAID


class Fine(FineBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class FinePublic(FineBase):
    id: int
