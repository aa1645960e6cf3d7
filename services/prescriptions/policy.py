"""The one place the regimes differ for the hospital and pharmacy: where prescriptions are kept,
who may pay one, and who lets the courier have the address. Chosen once per app, with its state
(``services.prescriptions.dependencies``); routes reach it as ``PolicyDep`` (or its store and its
delivery desk as ``StoreDep`` and ``DeliveryDep``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from joserfc.jwk import ECKey

from kernel.client import ServiceClient
from kernel.payers import AnyoneWithTheReference, LiablePartyPays, PayerRule
from kernel.regime import Regime
from services.prescriptions.delivery import DeliveryDesk, HandOverDirectly, HandOverUnderConsent
from services.prescriptions.pod_store import PodStore
from services.prescriptions.stores import DepartmentStore, PrescriptionStore


@dataclass(frozen=True)
class PrescriptionsPolicy:
    store: PrescriptionStore
    payer_rule: PayerRule
    delivery: DeliveryDesk  # who lets the parcel courier have the address (services/prescriptions/delivery.py)
    summary: str


def policy_for(
    regime: Regime, services: Callable[[], ServiceClient], signing_key: Callable[[], ECKey]
) -> PrescriptionsPolicy:
    """A fresh policy (and store) for one app of ``regime``; ``services`` gives the app's kernel client,
    ``signing_key`` the service's own key (the hospital signs what it deposits in a pod with it)."""
    if regime is Regime.PLATFORM:
        return PrescriptionsPolicy(
            DepartmentStore(),
            LiablePartyPays(),
            HandOverDirectly(),
            "Prescriptions, diagnosis included, are kept in the hospital and pharmacy's own database; "
            "only the patient (named by resident ID in the wallet's confirmation) may pay one.",
        )
    return PrescriptionsPolicy(
        PodStore(services, signing_key),
        AnyoneWithTheReference(),
        HandOverUnderConsent(services),
        "A prescription's contents are kept in the patient's personal data pod, signed by the hospital; the "
        "department keeps only the process record (patient pseudonym, amount, status), a reference into the pod "
        "and the digest of what it signed, so the pharmacy dispenses exactly what was issued. "
        "The wallet cannot name the patient's health-sector pseudonym, so a prescription is paid by its reference. "
        "The parcel courier gets her address only under her consent, logged before it is passed on.",
    )
