"""Every problem kind the super-app gateway answers with, one class each (kernel.problems has the
kinds all services share), and the kinds of other services the gateway reacts to.

Kind strings and statuses are the API: clients and tests rely on them.
"""

from __future__ import annotations

from typing import Any

from kernel.problems import Problem

# --- kinds other services answer with that the gateway reacts to ---------------------------------------
# (the kind strings it expects: the gateway imports no other service's package)

# A department's 403 of one of these kinds is about the gateway's own credentials (the kernel's
# token and citizen checks), not about the citizen: never passed on to the citizen as a 403.
FORBIDDEN_CALLER = "forbidden-caller"
NOT_A_CITIZEN = "not-a-citizen"
CREDENTIAL_REFUSALS = frozenset({FORBIDDEN_CALLER, NOT_A_CITIZEN})

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="citygate super-app"'}
RETRY_SOON = {"Retry-After": "5"}


# --- who is calling: sessions and login -------------------------------------------------------------------


class NotLoggedIn(Problem):
    status, kind = 401, "not-logged-in"

    def __init__(self) -> None:
        super().__init__("You are not logged in to the super-app: start at /login.", headers=BEARER_CHALLENGE)


class CrossOriginRequest(Problem):
    status, kind = 403, "cross-origin-request"

    def __init__(self) -> None:
        super().__init__(
            "This request did not come from the super-app's own pages, so your session cookie does not count for it."
        )


class LoginStateMismatch(Problem):
    status, kind = 403, "login-state-mismatch"

    def __init__(self) -> None:
        super().__init__("This login was not started in this browser: start again at /login.")


class UnknownLogin(Problem):
    status, kind = 400, "unknown-login"

    def __init__(self) -> None:
        super().__init__("This login is unknown, already used or too old: start again at /login.")


class LoginRefused(Problem):
    status, kind = 401, "login-refused"

    def __init__(self, error: str | None) -> None:
        super().__init__(f"The identity provider did not log you in ({error or 'no code'}).")


class CodeRefused(Problem):
    status, kind = 502, "code-refused"

    def __init__(self, error: object) -> None:
        super().__init__(f"The identity provider refused the code: {error}.")


class InvalidIdToken(Problem):
    status, kind = 502, "invalid-id-token"

    def __init__(self, error: Exception) -> None:
        super().__init__(f"The ID token did not verify: {error}.")


# --- sign-up: the user agreement --------------------------------------------------------------------------


class AgreementRequired(Problem):
    status, kind = 403, "agreement-required"

    def __init__(self, agreement_path: str) -> None:
        super().__init__(f"Agree to the super-app's user agreement first ({agreement_path}).", agreement=agreement_path)


class AgreementVersionMismatch(Problem):
    status, kind = 409, "agreement-version-mismatch"

    def __init__(self, shown: str, current: str) -> None:
        super().__init__(
            f"The agreement shown was version {shown!r}; the current one is {current!r}: read it again.",
            current_version=current,
        )


class NoBlanketConsent(Problem):
    status, kind = 409, "no-blanket-consent"

    def __init__(self) -> None:
        super().__init__(
            "This super-app asks no blanket consent: each use of your data is asked in your "
            "consent app when it happens."
        )


# --- Internet Plus: departments asking the super-app ---------------------------------------------------


class NotShared(Problem):
    status, kind = 403, "not-shared"

    def __init__(self) -> None:
        super().__init__(
            "This super-app shares nothing with departments: it does not know citizens' "
            "resident IDs, and each department asks the citizen, or her consent, itself."
        )


class CitizenNotFound(Problem):
    status, kind = 404, "citizen-not-found"

    def __init__(self) -> None:
        super().__init__("The super-app has never seen a citizen with this resident ID.")


# --- the digital ID card ----------------------------------------------------------------------------------


class CardOnYourDevice(Problem):
    status, kind = 403, "card-on-your-device"

    def __init__(self) -> None:
        super().__init__(
            "In this regime your ID card lives on your device, bound to a key only it holds: the super-app "
            "cannot show it. Your app presents it to the verifier itself, disclosing only what is asked."
        )


class LoginAgain(Problem):
    status, kind = 401, "login-again"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers=BEARER_CHALLENGE)


class CardNotIssued(Problem):
    status, kind = 502, "card-not-issued"

    def __init__(self, status_code: int) -> None:
        super().__init__(f"The identity service did not issue the ID card ({status_code}).")


class CardUnusable(Problem):
    status, kind = 502, "card-unusable"

    def __init__(self, error: Exception) -> None:
        super().__init__(f"The hosted ID card could not be presented: {error}.")


# --- reaching departments -----------------------------------------------------------------------------------


class DepartmentUnavailable(Problem):
    """The department cannot be reached; ``members``: what the problem adds (a payment's state)."""

    status, kind = 503, "department-unavailable"

    def __init__(self, detail: str, *, department: str, **members: Any) -> None:
        super().__init__(detail, headers=RETRY_SOON, department=department, **members)


class DepartmentTimeout(Problem):
    """The department did not answer within ``department_timeout_seconds``."""

    status, kind = 504, "department-timeout"

    def __init__(self, detail: str, *, department: str, **members: Any) -> None:
        super().__init__(detail, headers=RETRY_SOON, department=department, **members)


class BlindCourierOnly(Problem):
    status, kind = 403, "blind-courier-only"

    def __init__(self, department: str) -> None:
        super().__init__(
            f"In this regime the super-app cannot ask the {department} department about you: your app asks it "
            f"itself, through the super-app's blind courier (POST /courier/{department}).",
            department=department,
        )


class CourierNotOffered(Problem):
    status, kind = 404, "courier-not-offered"

    def __init__(self) -> None:
        super().__init__("This super-app reads every request it routes; it relays no sealed envelopes.")


class UnknownDepartment(Problem):
    status, kind = 404, "unknown-department"

    def __init__(self, department: str) -> None:
        super().__init__(f"The super-app routes to no {department!r} department here.")


class DepartmentProblem(Problem):
    """A department's own problem passed on to the citizen: its status and kind (whatever they are:
    the department's catalogue, not the gateway's), title, detail and extension members."""

    def __init__(self, status: int, kind: str | None, detail: str | None, *, title: str | None, **members: Any) -> None:
        self.status, self.kind = status, kind
        super().__init__(detail, title=title, **members)


# --- the journeys: what the citizen asks for is not theirs -----------------------------------------------


class FineNotFound(Problem):
    status, kind = 404, "fine-not-found"

    def __init__(self, fine_id: int) -> None:
        super().__init__(f"You have no fine {fine_id}.")


class BookingNotFound(Problem):
    status, kind = 404, "booking-not-found"

    def __init__(self, booking_id: str) -> None:
        super().__init__(f"You take part in no booking {booking_id!r}.")


class PrescriptionNotFound(Problem):
    status, kind = 404, "prescription-not-found"

    def __init__(self, prescription_id: str) -> None:
        super().__init__(f"You have no prescription {prescription_id!r}.")


# --- the wallet -------------------------------------------------------------------------------------------


class UnknownPayee(Problem):
    status, kind = 422, "unknown-payee"

    def __init__(self, payee: str, known: frozenset[str]) -> None:
        super().__init__(f"The wallet does not pay {payee!r}; it pays {', '.join(sorted(known))}.")


class InsufficientBalance(Problem):
    status, kind = 402, "insufficient-balance"

    def __init__(self, balance_cents: int, amount_cents: int) -> None:
        super().__init__(
            f"The wallet holds {balance_cents} fen; this payment needs {amount_cents}.",
            balance_cents=balance_cents,
            amount_cents=amount_cents,
        )


class PaymentNotFound(Problem):
    status, kind = 404, "payment-not-found"

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"There is no payment {payment_id!r} in your wallet.")


class PaymentInDoubt(Problem):
    status, kind = 409, "payment-in-doubt"

    def __init__(self, department: str, **payment: Any) -> None:
        super().__init__(
            f"The {department} department cannot say now whether it took this payment, so it cannot be "
            "cancelled: it stays pending and is retried. Try again later.",
            department=department,
            **payment,
        )


class PaymentCompleted(Problem):
    status, kind = 409, "payment-completed"

    def __init__(self, department: str, **payment: Any) -> None:
        super().__init__(f"The {department} department has taken this payment; it cannot be cancelled.", **payment)


class PaymentCancelled(Problem):
    status, kind = 409, "payment-cancelled"

    def __init__(self, department: str, reason: str | None, **payment: Any) -> None:
        super().__init__(
            f"The {department} department refused this payment ({reason}); it was cancelled and refunded.", **payment
        )


class BillNotPayable(Problem):
    """Every refusal that means "no bill of yours has this reference and amount", told alike
    (superapp_gateway/department_payments.py, ``NO_MATCHING_BILL``)."""

    status, kind = 422, "bill-not-payable"
    DETAIL = "No bill of yours has this reference and amount: check both against the bill. Nothing was charged."

    def __init__(self, **members: Any) -> None:
        super().__init__(self.DETAIL, **members)


# --- a login started by the phone's pages (superapp_gateway/return_to.py) -------------------------------


class UnsafeReturnTo(Problem):
    """A login asked to come back somewhere other than the phone's own pages (an open redirect)."""

    status, kind = 400, "unsafe-return-to"

    def __init__(self) -> None:
        super().__init__("A login may only return to the super-app's own pages (a path under /app/).")
