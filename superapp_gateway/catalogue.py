"""The city-services catalogue: what the super-app offers in this city, and who provides it.

Adding a department is one entry here plus its client permissions in ``kernel/access.py``
(which also makes it a peer the gateway can reach). What the platform learns from each service
is the regime's business (``superapp_gateway.policy``), not the catalogue's.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from pydantic import BaseModel

from kernel.regime import Regime
from superapp_gateway.dependencies import SettingsDep

BOTH = frozenset(Regime)


@dataclass(frozen=True)
class CityService:
    key: str  # how the super-app's API and the walkthroughs name it
    title: str
    provider: str | None  # the department (a service name) behind it; None: the super-app's own
    summary: str
    payable: bool = False  # the wallet pays this provider (``/wallet/payments`` with payee = provider)
    regimes: frozenset[Regime] = BOTH


CATALOGUE: tuple[CityService, ...] = (
    CityService(
        "fines",
        "Traffic fines",
        "fines",
        "Look up the fines on your vehicles and pay them from the wallet.",
        payable=True,
    ),
    CityService(
        "appointments",
        "Marriage and divorce appointments",
        "appointments",
        "Book a civil-registry appointment; your partner confirms it.",
    ),
    CityService(
        "prescriptions",
        "Prescriptions",
        "prescriptions",
        "Online consultation, pay your prescription, have it dispensed and delivered.",
        payable=True,
    ),
    CityService("id-card", "Digital ID card", "identity", "Show your identity card from your phone."),
    CityService(
        "my-data",
        "My data",
        "consent",
        "Your consents, who read your data, and the ledger's proofs.",
        regimes=frozenset({Regime.RIGHTS}),
    ),
)


def offered(regime: Regime) -> tuple[CityService, ...]:
    return tuple(entry for entry in CATALOGUE if regime in entry.regimes)


def payees(regime: Regime) -> frozenset[str]:
    """The departments the wallet may pay in ``regime``."""
    return frozenset(entry.provider for entry in offered(regime) if entry.payable and entry.provider)


class CityServicePublic(BaseModel):
    key: str
    title: str
    provider: str | None
    summary: str
    payable: bool


router = APIRouter(tags=["catalogue"])


@router.get("/catalogue", summary="The city services the super-app offers here (no login needed)")
async def catalogue(settings: SettingsDep) -> list[CityServicePublic]:
    return [
        CityServicePublic(
            key=entry.key, title=entry.title, provider=entry.provider, summary=entry.summary, payable=entry.payable
        )
        for entry in offered(settings.regime)
    ]
