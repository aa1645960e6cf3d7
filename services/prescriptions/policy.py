"""The one place the regimes differ for the hospital and pharmacy: where prescriptions are kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kernel.client import ServiceClient
from kernel.regime import Regime
from services.prescriptions.stores import DepartmentStore, PodStore, PrescriptionStore


@dataclass(frozen=True)
class StoragePolicy:
    store: PrescriptionStore
    summary: str


def policy_for(regime: Regime, services: Callable[[], ServiceClient]) -> StoragePolicy:
    """A fresh policy (and store) for one app of ``regime``; ``services`` gives the app's kernel client."""
    if regime is Regime.PLATFORM:
        return StoragePolicy(
            DepartmentStore(),
            "Prescriptions, diagnosis included, are kept in the hospital and pharmacy's own database.",
        )
    return StoragePolicy(
        PodStore(services),
        "A prescription's contents are kept in the patient's personal data pod; the department keeps "
        "only the process record (patient pseudonym, amount, status) and a reference into the pod.",
    )
