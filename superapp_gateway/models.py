from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class GatewayTable(SQLModel, registry=registry()):
    """Base of the gateway's own tables (accounts, wallet: later issues)."""


class VehicleFines(SQLModel):
    plate: str
    regime: str
    fines: list[dict]
