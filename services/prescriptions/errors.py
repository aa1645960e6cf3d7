"""Every problem the hospital and pharmacy answer with, besides the kernel's shared kinds
(``kernel.problems``: idempotency keys, a missing consent, an upstream failure;
``kernel.payment_confirmations``: a refused confirmation)."""

from __future__ import annotations

from kernel.problems import NoConsent, Problem, UpstreamError, problem_responses
from services.prescriptions.models import PARCEL_COURIER


class PrescriptionNotFound(Problem):
    status, kind = 404, "prescription-not-found"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(f"No prescription {prescription_id!r} is known.")


class PrescriptionExists(Problem):
    status, kind = 409, "prescription-exists"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(f"Prescription {prescription_id!r} has already been issued.")


class PrescriptionReferenceConflict(Problem):
    """The hospital's reference was issued before with other details: the first prescription stands."""

    status, kind = 409, "prescription-reference-conflict"

    def __init__(self, reference: str, differing: list[str]) -> None:
        super().__init__(
            f"A prescription with the hospital's reference {reference!r} was issued with other details "
            f"({', '.join(differing)}); nothing was issued.",
            differing=differing,
        )


# --- paying ---------------------------------------------------------------------------------------


class ConfirmationMismatch(Problem):
    """Names the claim, never the value this payment needs: a caller guessing a prescription's amount
    must not be told it (issue 13, L4)."""

    status, kind = 422, "payment-confirmation-mismatch"

    def __init__(self, claim: str) -> None:
        super().__init__(f"The payment confirmation's {claim} does not match this payment.", claim=claim)


class PayerNotPatient(Problem):
    status, kind = 422, "payer-not-patient"

    def __init__(self) -> None:
        super().__init__("The payment confirmation names a payer who is not this prescription's patient.")


class AlreadyPaid(Problem):
    status, kind = 409, "already-paid"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(f"Prescription {prescription_id!r} has already been paid.")


# --- dispensing and delivery ----------------------------------------------------------------------


class NotPaid(Problem):
    status, kind = 409, "not-paid"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(f"Prescription {prescription_id!r} has not been paid; a pharmacy cannot dispense it.")


class AlreadyDispensed(Problem):
    status, kind = 409, "already-dispensed"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(f"Prescription {prescription_id!r} has already been dispensed.")


class NotDispensed(Problem):
    status, kind = 409, "not-dispensed"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(f"Prescription {prescription_id!r} has not been dispensed; there is nothing to deliver.")


class DeliveryAlreadyOrdered(Problem):
    status, kind = 409, "delivery-already-ordered"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(f"A delivery of prescription {prescription_id!r} has already been ordered.")


class NoDeliveryConsent(NoConsent):
    """Rights regime: the patient has not let the pharmacy give her address to the courier."""

    def __init__(self, prescription_id: str, reason: str | None) -> None:
        super().__init__(
            f"You have not allowed the pharmacy to give your address to the parcel courier ({reason}). "
            f"Ask for the prompt (POST /me/prescriptions/{prescription_id}/delivery-consent), allow it in "
            "your consent app, then order the delivery again. Nothing was passed on.",
            recipient=PARCEL_COURIER,
        )


class NoConsentAsked(Problem):
    """Platform: a delivery asks no consent."""

    status, kind = 409, "no-consent-asked"

    def __init__(self) -> None:
        super().__init__(
            "This deployment asks no consent for a delivery: the super-app's user agreement "
            "covers it, and the courier gets your address when you order."
        )


# --- the patient's pod (rights regime) ------------------------------------------------------------


class PodUnavailable(Problem):
    status, kind = 503, "pod-unavailable"

    def __init__(self, operation: str) -> None:
        super().__init__(
            "The patient's personal data pod cannot be reached. In this regime a prescription's contents "
            f"(medication, dose, diagnosis) are kept only in the patient's pod, so they cannot be {operation} "
            "now; nothing was stored in the department's database. Try again later.",
            operation=operation,
        )


class PodRequired(Problem):
    status, kind = 422, "pod-required"

    def __init__(self) -> None:
        super().__init__(
            "In this regime a prescription is kept in the patient's pod: give its storage "
            "URL (`pod`), as the patient's app shows it."
        )


class InvalidPod(Problem):
    status, kind = 422, "invalid-pod"

    def __init__(self, pod: str, base: str) -> None:
        super().__init__(f"{pod!r} is not a pod root on this city's pod service ({base}/pods/<id>/).")


class PodNotFound(Problem):
    status, kind = 422, "pod-not-found"

    def __init__(self, storage: str) -> None:
        super().__init__(f"There is no pod at {storage}.")


class PodRefused(Problem):
    """The pod's own refusal (a 400, 403, 409 or 422), passed on with its status and kind: a missing
    consent is the patient's choice, not a fault."""

    def __init__(self, status: int, kind: str | None, what: str, detail: object) -> None:
        super().__init__(f"The patient's pod refused the {what}: {detail}", upstream="pod")
        self.status, self.kind = status, kind


class ContentsErased(Problem):
    status, kind = 410, "contents-erased"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(
            f"Prescription {prescription_id!r}'s contents are no longer in the patient's pod "
            "(the patient removed them)."
        )


class ContentsAltered(Problem):
    status, kind = 409, "prescription-altered"

    def __init__(self, prescription_id: str, reason: str) -> None:
        super().__init__(
            f"Prescription {prescription_id!r} in the patient's pod is not what the hospital signed and "
            f"issued ({reason}). Nothing was dispensed and nothing was charged; ask the hospital to issue it "
            "again.",
        )


# What each operation can answer: the OpenAPI ``responses`` of the service's routes and the citizen's
# own alike. Keeping or reading the contents adds, in the rights regime, what the patient's pod may
# answer: her consent refused, the document gone or altered, the pod unreachable.
_READING_CONTENTS = (NoConsent, ContentsErased, ContentsAltered, PodUnavailable, UpstreamError)
LISTING_PROBLEMS = problem_responses(PodUnavailable, UpstreamError)
ISSUING_PROBLEMS = problem_responses(PodRequired, InvalidPod, PodNotFound, NoConsent, PodUnavailable, UpstreamError)
READING_PROBLEMS = problem_responses(PrescriptionNotFound, *_READING_CONTENTS)
DISPENSING_PROBLEMS = problem_responses(PrescriptionNotFound, NotPaid, AlreadyDispensed, *_READING_CONTENTS)
DELIVERY_CONSENT_PROBLEMS = problem_responses(
    PrescriptionNotFound, DeliveryAlreadyOrdered, NoConsentAsked, UpstreamError
)
DELIVERY_PROBLEMS = problem_responses(
    PrescriptionNotFound, NotDispensed, DeliveryAlreadyOrdered, NoDeliveryConsent, UpstreamError
)
