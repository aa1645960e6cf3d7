"""The parties whose stores the report reads: each service of the regime, and the parcel courier.

A party is a database, or the part of one that another body receives: the parcel courier gets the
hospital's delivery orders (a parcel id and an address) and nothing else, which in this
implementation are rows of the hospital's own database (``delivery_order``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel import topology
from kernel.regime import Regime
from services.prescriptions.models import DeliveryOrder

COURIER_TABLE = str(DeliveryOrder.__tablename__)


@dataclass(frozen=True)
class Party:
    key: str
    title: str
    service: str
    tables: frozenset[str] | None = None  # None: every table of the service's database

    def holds(self, table: str) -> bool:
        return self.tables is None or table in self.tables


def parties_in(regime: Regime) -> tuple[Party, ...]:
    """The regime's parties, in the topology's order, the courier after the hospital."""
    parties: list[Party] = []
    for spec in topology.services_in(regime):
        parties.append(Party(spec.name, spec.title, spec.name))
        if spec.name == "prescriptions":
            parties.append(Party("courier", "parcel courier (delivery orders)", spec.name, frozenset({COURIER_TABLE})))
    return tuple(parties)


def named_sets(parties: tuple[Party, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Colluding sets with a name (every pair is added by the callers): each only if its parties exist."""
    present = [party.key for party in parties]
    wanted: list[tuple[str, list[str]]] = [
        ("the platform operator + the credit platform", ["gateway", "credit"]),
        ("the departments together", ["fines", "appointments", "prescriptions"]),
        ("the gateway + the identity provider", ["gateway", "identity"]),
        *([("everyone but the pod", [key for key in present if key != "pod"])] if "pod" in present else []),
        ("everyone", present),
    ]
    sets: list[tuple[str, tuple[str, ...]]] = []
    seen: set[tuple[str, ...]] = set()
    for name, keys in wanted:
        members = tuple(key for key in present if key in keys)
        if len(members) == len(keys) and len(members) >= 2 and members not in seen:
            seen.add(members)
            sets.append((name, members))
    return tuple(sets)
