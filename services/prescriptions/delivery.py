"""Who lets the parcel courier have the patient's address: the regime's rule for delivery.

The courier is a third party (``parcel-courier``): the pharmacy hands it a parcel id and an
address. On the platform the user agreement the patient clicked through at sign-up is taken to
cover that, so the order goes straight out (:class:`HandOverDirectly`). In the rights regime the
address is passed on only under the patient's own consent for exactly that — recipient
``parcel-courier``, ``pd:PhysicalAddress``, ``dpv:DeliveryOfGoods``, ``dpv:Disclose``, used once
(:class:`HandOverUnderConsent`): her app asks the pharmacy to request it
(``POST /me/prescriptions/{id}/delivery-consent``), she answers the prompt in her consent app, and
when she orders the delivery the pharmacy asks the consent service first, which appends the
disclosure (or the refusal) to the ledger before the courier is given anything.

Methods are synchronous (the domain runs in the request's worker thread); HTTP goes through the
app's kernel client on the event loop, as the pod store does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field

from kernel.client import ServiceClient
from kernel.clock import utc_now
from services.prescriptions.consent_service import ask_consent_service
from services.prescriptions.errors import NoConsentAsked, NoDeliveryConsent
from services.prescriptions.models import PARCEL_COURIER, Prescription

ADDRESS = "pd:PhysicalAddress"
DELIVERY = "dpv:DeliveryOfGoods"
PASSING_ON = "dpv:Disclose"
CONSENT_VALID_FOR = timedelta(days=7)


class DeliveryConsentRequested(BaseModel):
    """The prompt the pharmacy asked the consent service to show the patient."""

    consent_request: str = Field(description="The consent artefact to give (or refuse) in her consent app")
    summary: str = Field(description="What the prompt says, in the consent service's words")
    recipient: str = PARCEL_COURIER
    status: str


class DeliveryDesk(Protocol):
    def request_consent(self, record: Prescription) -> DeliveryConsentRequested:
        """Ask the patient to let the courier have her address for ``record``'s parcel."""
        ...

    def before_handover(self, record: Prescription) -> int | None:
        """Called before the courier's order is written; raises if the address may not be passed on.
        Returns the consent ledger's index of the disclosure, where one is logged."""
        ...


class HandOverDirectly:
    """Platform: the sign-up agreement is the only consent; nothing is asked, nothing is logged."""

    def request_consent(self, record: Prescription) -> DeliveryConsentRequested:
        raise NoConsentAsked()

    def before_handover(self, record: Prescription) -> int | None:
        return None


class HandOverUnderConsent:
    """Rights: the address goes to the courier only under the patient's consent, logged first."""

    def __init__(self, services: Callable[[], ServiceClient]) -> None:
        self._services = services

    def request_consent(self, record: Prescription) -> DeliveryConsentRequested:
        asked = self._consent(
            "/consent-requests",
            {
                "subject": record.patient,
                "recipients": [PARCEL_COURIER],
                "purposes": [DELIVERY],
                "categories": [ADDRESS],
                "processing": [PASSING_ON],
                "mode": "one-time",
                "valid_until": (utc_now() + CONSENT_VALID_FOR).isoformat(),
                "notice": f"The pharmacy gives the parcel courier your address, and a parcel number, to deliver "
                f"prescription {record.id}. The courier learns nothing else: not what is in the parcel, "
                "nor your name.",
            },
        )
        return DeliveryConsentRequested(consent_request=asked["id"], summary=asked["summary"], status=asked["status"])

    def before_handover(self, record: Prescription) -> int | None:
        decision = self._consent(
            "/decisions",
            {
                "subject": record.patient,
                "recipient": PARCEL_COURIER,
                "category": ADDRESS,
                "purpose": DELIVERY,
                "processing": PASSING_ON,
                "resource": f"prescriptions/{record.id}/delivery",
            },
        )
        if not decision.get("permitted"):
            raise NoDeliveryConsent(record.id, decision.get("reason"))
        return decision.get("ledger_index")

    def _consent(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return ask_consent_service(self._services(), path, body)
