"""The wallet's payment operations — pay, retry, cancel — and what the citizen is answered.

A payment is debited in the ledger (superapp_gateway/wallet.py), then taken to its department
(superapp_gateway/department_payments.py) and settled by the answer. The citizen gets the
completed payment, or the problem that says why not: the department's own refusal passed on
(its kind, detail and extension members, plus what the wallet did about it), or that it gave no
definitive answer and the payment is pending (retried until it does).
"""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool

from kernel.problems import Problem, kind_of
from superapp_gateway import wallet
from superapp_gateway.department_payments import Answer, Cashier, attempt, checked_payee
from superapp_gateway.errors import (
    BillNotPayable,
    DepartmentProblem,
    DepartmentTimeout,
    DepartmentUnavailable,
    PaymentCancelled,
    PaymentCompleted,
    PaymentInDoubt,
)
from superapp_gateway.models import PaymentStatus, WalletPayment

# Problem members that describe the department's response itself, not its refusal.
OWN_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "request_id"})


def _payment_members(payment: WalletPayment) -> dict[str, Any]:
    # RFC 9457 reserves "status" for the HTTP status, so the payment's own is "payment_status".
    return {"payment_id": payment.id, "payment_status": payment.status.value}


def pending(payment: WalletPayment, *, timed_out: bool) -> DepartmentUnavailable | DepartmentTimeout:
    """The department gave no definitive answer: the payment stays pending, and debited."""
    detail = (
        f"The {payment.payee} department {'did not answer in time' if timed_out else 'cannot be reached'}. "
        "Your payment is pending: the amount stays reserved, and the payment is retried until the department "
        "takes or refuses it."
    )
    problem = DepartmentTimeout if timed_out else DepartmentUnavailable
    return problem(detail, department=payment.payee, **_payment_members(payment))


def settled_or_problem(payment: WalletPayment, answer: Answer | None) -> WalletPayment:
    """The payment if it completed; otherwise the problem that says why not."""
    if payment.status is PaymentStatus.COMPLETED:
        return payment
    if payment.status is PaymentStatus.PENDING:
        raise pending(payment, timed_out=answer is not None and answer.timed_out)
    if answer is not None and answer.verdict == "refused":
        raise department_refusal(payment, answer)
    raise PaymentCancelled(payment.payee, payment.last_error, **_payment_members(payment))


def department_refusal(payment: WalletPayment, answer: Answer) -> Problem:
    """The department's own problem, passed through (kind, detail and its extension members), plus
    what the wallet did about it."""
    members = {"department": payment.payee, **_payment_members(payment)}
    if answer.no_matching_bill:
        return BillNotPayable(**members)
    body = answer.problem
    detail, title = body.get("detail"), body.get("title")
    return DepartmentProblem(
        answer.status_code or 422,
        kind_of(body.get("type")),
        None if detail is None else str(detail),
        title=None if title is None else str(title),
        **{key: value for key, value in body.items() if key not in OWN_MEMBERS} | members,
    )


def _own(cashier: Cashier, subject: str, payment_id: str) -> WalletPayment:
    with cashier.database.session() as session:
        return wallet.payment_of(session, subject, payment_id)


def _start(
    cashier: Cashier, subject: str, order: wallet.PaymentOrder, idempotency_key: str
) -> tuple[WalletPayment, bool]:
    with cashier.database.session() as session:
        return wallet.start_payment(
            session,
            subject,
            order,
            idempotency_key=idempotency_key,
            now=cashier.clock(),
            starting_balance=cashier.starting_balance_cents,
        )


async def pay(
    cashier: Cashier, subject: str, order: wallet.PaymentOrder, *, idempotency_key: str
) -> tuple[WalletPayment, bool]:
    """Debit the wallet and pay the department. Returns the completed payment and whether it was
    made now; the same key and order again returns the payment as it stands (no second debit, no
    call: retrying a pending one is ``retry``'s). Otherwise raises why it did not complete."""
    checked_payee(cashier, order.payee)
    payment, created = await run_in_threadpool(_start, cashier, subject, order, idempotency_key)
    if not created:
        return payment, False
    stored, answer = await attempt(cashier, payment)
    return settled_or_problem(stored, answer), True


async def retry(cashier: Cashier, subject: str, payment_id: str) -> WalletPayment:
    """Send a pending payment again (the same payment at the department); a settled one is returned as it is."""
    payment = await run_in_threadpool(_own, cashier, subject, payment_id)
    if payment.status is not PaymentStatus.PENDING:
        return payment
    stored, answer = await attempt(cashier, payment)
    return settled_or_problem(stored, answer)


async def cancel(cashier: Cashier, subject: str, payment_id: str) -> WalletPayment:
    """Cancel a pending payment — only on the department's definitive refusal.

    The departments have no "void" operation; the only way to learn a payment's fate there is
    to present it again under its Idempotency-Key. A refusal is final, so the payment is cancelled
    and refunded; if the department takes it instead (the citizen's order stands), it completed
    and cannot be cancelled; with no answer it might have been received, so it stays pending
    rather than be refunded and then charged.
    """
    payment = await run_in_threadpool(_own, cashier, subject, payment_id)
    if payment.status is PaymentStatus.PENDING:
        payment, _ = await attempt(cashier, payment)
    if payment.status is PaymentStatus.COMPLETED:
        raise PaymentCompleted(payment.payee, **_payment_members(payment))
    if payment.status is PaymentStatus.PENDING:
        raise PaymentInDoubt(payment.payee, **_payment_members(payment))
    return payment
