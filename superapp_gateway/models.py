from datetime import datetime

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class GatewayTable(SQLModel, registry=registry()):
    """Base of the gateway's own tables."""


class LoginAttempt(GatewayTable, table=True):
    """One login the gateway started: what it must see again when the browser comes back."""

    __tablename__ = "login_attempt"
    state: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(max_length=64)
    code_verifier: str = Field(max_length=128)
    created_at: datetime


class CitizenSession(GatewayTable, table=True):
    """A citizen logged in to the super-app, known by whatever ``sub`` the regime's provider gave."""

    __tablename__ = "citizen_session"
    id: str = Field(primary_key=True, max_length=64)
    subject: str = Field(index=True, max_length=200)
    claims: str = Field(max_length=4000)  # JSON: everything the ID token told the gateway
    acr: str = Field(max_length=100)
    expires_at: datetime


class VehicleFines(SQLModel):
    plate: str
    regime: str
    fines: list[dict]
