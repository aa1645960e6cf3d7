from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class IdentityTable(SQLModel, registry=registry()):
    """Base of the identity service's own tables (its own metadata)."""


class UsedClientAssertion(IdentityTable, table=True):
    """Client assertion ids already seen, so a captured assertion cannot be replayed (RFC 7523 §3)."""

    __tablename__ = "used_client_assertion"
    client_jti: str = Field(primary_key=True, max_length=300)
    expires_at: datetime = Field(index=True)


class IssuedAccessToken(IdentityTable, table=True):
    """An audit row per issued service token: who got which permissions on whom, until when."""

    __tablename__ = "issued_access_token"
    jti: str = Field(primary_key=True, max_length=100)
    client_id: str = Field(index=True, max_length=100)
    audience: str = Field(max_length=200)
    scope: str = Field(max_length=1000)
    issued_at: datetime
    expires_at: datetime
