"""Every problem the traffic police answer with, besides the kernel's shared kinds
(``kernel.problems``: idempotency keys; ``kernel.payment_confirmations``: a refused confirmation)."""

from __future__ import annotations

from kernel.problems import Problem


class VehicleNotFound(Problem):
    status, kind = 404, "vehicle-not-found"

    def __init__(self, plate: str) -> None:
        super().__init__(f"No vehicle with plate {plate!r} is registered.")


class FineNotFound(Problem):
    status, kind = 404, "fine-not-found"

    def __init__(self, fine_id: int) -> None:
        super().__init__(f"There is no fine {fine_id}.")


class ReceiptNotFound(Problem):
    status, kind = 404, "receipt-not-found"

    def __init__(self, fine_id: int) -> None:
        super().__init__(f"Fine {fine_id} has not been paid, so there is no receipt.")


class FineAlreadyPaid(Problem):
    status, kind = 409, "fine-already-paid"

    def __init__(self, fine_id: int) -> None:
        super().__init__(f"Fine {fine_id} has already been paid (under another Idempotency-Key).")


class PaymentConflict(Problem):
    status, kind = 409, "payment-conflict"

    def __init__(self) -> None:
        super().__init__("This wallet payment id was already used for another payment.")


class PaymentMismatch(Problem):
    status, kind = 422, "payment-mismatch"

    def __init__(self, mismatched: list[str]) -> None:
        super().__init__(
            f"The payment confirmation does not match this payment: {', '.join(mismatched)}.", mismatched=mismatched
        )


class PayerNotOwner(Problem):
    status, kind = 422, "payer-not-owner"

    def __init__(self) -> None:
        super().__init__("The confirmation's payer is not the registered owner of the fined vehicle.")


# --- the vehicle registry and the cameras (services.fines.operator_routes) ------------------------


class PlateRegisteredToAnother(Problem):
    status, kind = 409, "plate-registered-to-another"

    def __init__(self, plate: str) -> None:
        super().__init__(f"The plate {plate!r} is registered to another owner.")


class VehicleNotRegistered(Problem):
    """A fine names a plate the registry does not hold: nobody could be asked to pay it."""

    status, kind = 422, "vehicle-not-registered"

    def __init__(self, plate: str) -> None:
        super().__init__(f"No vehicle with plate {plate!r} is registered; register it before recording its fines.")


class FineReferenceConflict(Problem):
    """The reference was recorded with other details: the first record stands, unchanged."""

    status, kind = 409, "fine-reference-conflict"

    def __init__(self, reference: str, differing: list[str]) -> None:
        super().__init__(
            f"A fine with reference {reference!r} is recorded with other details ({', '.join(differing)}); "
            "nothing was changed.",
            differing=differing,
        )
