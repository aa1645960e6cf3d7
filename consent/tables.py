"""The consent service's own table registry: artefacts and the ledger live in its database only."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class ConsentTable(SQLModel, registry=registry()):
    """Base of every table the consent service owns."""
