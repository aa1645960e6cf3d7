"""Taking a wallet payment to its department, and settling it by the department's answer.

One *attempt* sends the payment to the department — ``POST /fines/{reference}/payments`` or
``POST /prescriptions/{reference}/payments`` with the wallet's signed confirmation, under the
header ``Idempotency-Key: <wallet payment id>`` — and settles it by what comes back:

- **201/200** (taken, now or before) → ``completed``, the department's receipt id kept;
- **a definitive refusal** (a 4xx other than those below: 404 unknown bill, 409 already paid,
  422 the confirmation does not fit…) → ``cancelled`` and refunded in the same transaction; a 404
  or 422 is told to the citizen only as ``bill-not-payable`` (``NO_MATCHING_BILL``);
- **no definitive answer** (unreachable, 5xx, no answer within ``department_timeout_seconds``,
  or 401/403/408/425/429, after which the department has not taken the payment *yet*) → stays
  ``pending`` and debited, to be retried.

Every attempt of a payment is the same payment at the department: the same Idempotency-Key and
the same claims (the confirmation is signed afresh each time, since it is only accepted for
24 hours, but its claims are a function of the payment alone; the departments' fingerprints
leave the signing time out). So retrying is safe, and a pending payment is never refunded
without the department's refusal: a request that timed out may still be taken, and its retry
then learns so (200, the same receipt).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from kernel.client import json_or_empty
from kernel.problems import PROBLEM_TYPE_PREFIX, Problem
from kernel.signed import sign_statement
from superapp_gateway import wallet
from superapp_gateway.catalogue import payees
from superapp_gateway.departments import within_timeout
from superapp_gateway.models import PaymentStatus, WalletPayment

log = logging.getLogger("citygate.gateway.wallet")

STATEMENT_TYPE = "payment+jwt"
# Where each payable department takes payments (the catalogue says which departments are payable).
PAYMENT_PATHS = {
    "fines": "/fines/{reference}/payments",
    "prescriptions": "/prescriptions/{reference}/payments",
}
# 4xx answers after which the department has not taken the payment but still might: it did not
# accept our token (401/403: fixable by configuration), or asked us to come back later. Any other
# 4xx is final: the department judged these very claims, which every attempt repeats unchanged.
NOT_YET_DECIDED = frozenset({401, 403, 408, 425, 429})
# Problem members that describe the department's response itself, not its refusal.
OWN_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "request_id"})
# Refusals that mean "no bill of yours has this reference and amount": there is no such bill, it
# is someone else's, the amount (or another claim) is not the bill's, the reference is malformed.
# The department says which, and may name what it expected; the citizen is told none of it, and
# all of them alike, so the wallet cannot be used to find out which bills exist, whose they are
# or what they cost (by paying wrong amounts until the answer changes).
NO_MATCHING_BILL = frozenset({404, 422})
NO_MATCHING_BILL_KIND = "bill-not-payable"
NO_MATCHING_BILL_DETAIL = (
    "No bill of yours has this reference and amount: check both against the bill. Nothing was charged."
)


# --- problems -----------------------------------------------------------------------------------------


class UnknownPayee(Problem):
    def __init__(self, payee: str, known: frozenset[str]) -> None:
        super().__init__(
            422, f"The wallet does not pay {payee!r}; it pays {', '.join(sorted(known))}.", kind="unknown-payee"
        )


def _payment_members(payment: WalletPayment) -> dict:
    # RFC 9457 reserves "status" for the HTTP status, so the payment's own is "payment_status".
    return {"payment_id": payment.id, "payment_status": payment.status.value}


class DepartmentUnavailable(Problem):
    def __init__(self, payment: WalletPayment, *, timed_out: bool) -> None:
        super().__init__(
            504 if timed_out else 503,
            f"The {payment.payee} department {'did not answer in time' if timed_out else 'cannot be reached'}. "
            "Your payment is pending: the amount stays reserved, and the payment is retried until the department "
            "takes or refuses it.",
            kind="department-timeout" if timed_out else "department-unavailable",
            headers={"Retry-After": "5"},
            department=payment.payee,
            **_payment_members(payment),
        )


class PaymentInDoubt(Problem):
    def __init__(self, payment: WalletPayment) -> None:
        super().__init__(
            409,
            f"The {payment.payee} department cannot say now whether it took this payment, so it cannot be "
            "cancelled: it stays pending and is retried. Try again later.",
            kind="payment-in-doubt",
            department=payment.payee,
            **_payment_members(payment),
        )


class PaymentCompleted(Problem):
    def __init__(self, payment: WalletPayment) -> None:
        super().__init__(
            409,
            f"The {payment.payee} department has taken this payment; it cannot be cancelled.",
            kind="payment-completed",
            **_payment_members(payment),
        )


class PaymentCancelled(Problem):
    def __init__(self, payment: WalletPayment) -> None:
        super().__init__(
            409,
            f"The {payment.payee} department refused this payment ({payment.last_error}); "
            "it was cancelled and refunded.",
            kind="payment-cancelled",
            **_payment_members(payment),
        )


# --- one attempt --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What one attempt learned from the department."""

    verdict: Literal["taken", "refused", "no-answer"]
    reason: str = ""
    receipt: str | None = None
    timed_out: bool = False
    problem: dict = field(default_factory=dict)  # a refusal's problem+json body
    status_code: int | None = None


def checked_payee(payee: str, app: FastAPI) -> str:
    known = payees(app.state.settings.regime) & PAYMENT_PATHS.keys()
    if payee not in known:
        raise UnknownPayee(payee, known)
    return payee


def confirmation_for(app: FastAPI, payment: WalletPayment) -> str:
    """The wallet's signed statement: a function of the payment alone, so every attempt asserts the same."""
    claims = {
        "payment_id": payment.id,
        "payer": app.state.policy.payer_for(payment.subject, payment.id),
        "payee": payment.payee,
        "reference": payment.reference,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "idempotency_key": payment.id,
    }
    return sign_statement(
        app.state.signing_key, issuer=app.state.settings.service_name, typ=STATEMENT_TYPE, claims=claims
    )


async def _ask(app: FastAPI, payment: WalletPayment) -> Answer:
    path = PAYMENT_PATHS[payment.payee].format(reference=quote(payment.reference, safe=""))
    try:
        response = await within_timeout(
            app,
            payment.payee,
            "POST",
            path,
            json={"confirmation": confirmation_for(app, payment)},
            headers={"Idempotency-Key": payment.id},
        )
    except TimeoutError:
        return Answer("no-answer", "no answer in time", timed_out=True)
    except Problem as problem:  # the kernel client: unreachable (503), timed out (504), no token (502)
        return Answer(
            "no-answer",
            f"{problem.type.removeprefix(PROBLEM_TYPE_PREFIX)}: {problem.detail}",
            timed_out=problem.status == 504,
        )
    except httpx.HTTPError as error:
        return Answer("no-answer", f"{type(error).__name__}: {error}")
    body = json_or_empty(response)
    if response.status_code in (200, 201):
        return Answer("taken", receipt=str(body.get("receipt_id")) if body.get("receipt_id") else None)
    if 400 <= response.status_code < 500 and response.status_code not in NOT_YET_DECIDED:
        kind = str(body.get("type", "")).removeprefix(PROBLEM_TYPE_PREFIX)
        if response.status_code in NO_MATCHING_BILL:
            log.info("payment %s refused by %s: %s %s", payment.id, payment.payee, response.status_code, kind)
            return Answer(
                "refused",
                f"422 {NO_MATCHING_BILL_KIND}: {NO_MATCHING_BILL_DETAIL}",
                status_code=422,
                problem={"type": PROBLEM_TYPE_PREFIX + NO_MATCHING_BILL_KIND, "detail": NO_MATCHING_BILL_DETAIL},
            )
        return Answer(
            "refused",
            f"{response.status_code} {kind}: {body.get('detail', '')}",
            problem=body,
            status_code=response.status_code,
        )
    return Answer("no-answer", f"the department answered {response.status_code}")


async def attempt(app: FastAPI, payment: WalletPayment) -> tuple[WalletPayment, Answer]:
    """Send a pending payment to its department once and settle it by the answer. Returns the
    payment as stored afterwards (another attempt may have settled it meanwhile) and the answer."""
    answer = await _ask(app, payment)
    stored = await run_in_threadpool(_settle, app, payment.id, answer)
    if answer.verdict == "taken" and stored.status is PaymentStatus.CANCELLED:
        # cannot happen while departments keep their word (a refusal of a request is final); loud if it does
        log.error("payment %s was taken by %s after it was cancelled and refunded", payment.id, payment.payee)
    log.info("payment %s at %s: %s (%s)", payment.id, payment.payee, answer.verdict, answer.reason or "ok")
    return stored, answer


def _settle(app: FastAPI, payment_id: str, answer: Answer) -> WalletPayment:
    now = wallet.utc_now()
    with app.state.database.session() as session:
        if answer.verdict == "taken":
            return wallet.complete(session, payment_id, receipt=answer.receipt, now=now)
        if answer.verdict == "refused":
            return wallet.cancel_and_refund(session, payment_id, reason=answer.reason, now=now)
        return wallet.record_no_answer(session, payment_id, reason=answer.reason, now=now)


# --- what the citizen is answered ---------------------------------------------------------------------


def settled_or_problem(payment: WalletPayment, answer: Answer | None) -> WalletPayment:
    """The payment if it completed; otherwise the problem that says why not."""
    if payment.status is PaymentStatus.COMPLETED:
        return payment
    if payment.status is PaymentStatus.PENDING:
        raise DepartmentUnavailable(payment, timed_out=answer is not None and answer.timed_out)
    if answer is not None and answer.verdict == "refused":
        raise department_refusal(payment, answer)
    raise PaymentCancelled(payment)


def department_refusal(payment: WalletPayment, answer: Answer) -> Problem:
    """The department's own problem, passed through (kind, detail and its extension members), plus
    what the wallet did about it."""
    body = answer.problem
    problem_type = str(body.get("type", ""))
    kind = problem_type.removeprefix(PROBLEM_TYPE_PREFIX) if problem_type.startswith(PROBLEM_TYPE_PREFIX) else None
    members = {key: value for key, value in body.items() if key not in OWN_MEMBERS}
    members |= {"department": payment.payee, **_payment_members(payment)}
    return Problem(answer.status_code or 422, body.get("detail"), kind=kind, title=body.get("title"), **members)


# --- the wallet's operations ----------------------------------------------------------------------------


def _own(app: FastAPI, subject: str, payment_id: str) -> WalletPayment:
    with app.state.database.session() as session:
        return wallet.payment_of(session, subject, payment_id)


def _start(app: FastAPI, subject: str, order: wallet.PaymentOrder, idempotency_key: str) -> tuple[WalletPayment, bool]:
    with app.state.database.session() as session:
        return wallet.start_payment(
            session,
            subject,
            order,
            idempotency_key=idempotency_key,
            now=wallet.utc_now(),
            starting_balance=app.state.settings.wallet_starting_balance_cents,
        )


async def pay(
    app: FastAPI, subject: str, order: wallet.PaymentOrder, *, idempotency_key: str
) -> tuple[WalletPayment, bool]:
    """Debit the wallet and pay the department. Returns the completed payment and whether it was
    made now; the same key and order again returns the payment as it stands (no second debit, no
    call: retrying a pending one is ``retry``'s). Otherwise raises why it did not complete."""
    checked_payee(order.payee, app)
    payment, created = await run_in_threadpool(_start, app, subject, order, idempotency_key)
    if not created:
        return payment, False
    stored, answer = await attempt(app, payment)
    return settled_or_problem(stored, answer), True


async def retry(app: FastAPI, subject: str, payment_id: str) -> WalletPayment:
    """Send a pending payment again (the same payment at the department); a settled one is returned as it is."""
    payment = await run_in_threadpool(_own, app, subject, payment_id)
    if payment.status is not PaymentStatus.PENDING:
        return payment
    stored, answer = await attempt(app, payment)
    return settled_or_problem(stored, answer)


async def cancel(app: FastAPI, subject: str, payment_id: str) -> WalletPayment:
    """Cancel a pending payment — only on the department's definitive refusal.

    The departments have no "void" operation; the only way to learn a payment's fate there is
    to present it again under its Idempotency-Key. A refusal is final, so the payment is cancelled
    and refunded; if the department takes it instead (the citizen's order stands), it completed
    and cannot be cancelled; with no answer it might have been received, so it stays pending
    rather than be refunded and then charged.
    """
    payment = await run_in_threadpool(_own, app, subject, payment_id)
    if payment.status is PaymentStatus.PENDING:
        payment, _ = await attempt(app, payment)
    if payment.status is PaymentStatus.COMPLETED:
        raise PaymentCompleted(payment)
    if payment.status is PaymentStatus.PENDING:
        raise PaymentInDoubt(payment)
    return payment
