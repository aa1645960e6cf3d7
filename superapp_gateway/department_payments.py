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

What the citizen is answered is ``superapp_gateway.payments``'s business; the ledger's is
``superapp_gateway.wallet``'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx
from fastapi.concurrency import run_in_threadpool
from joserfc.jwk import ECKey

from kernel.client import json_or_empty
from kernel.clock import Clock
from kernel.database import Database
from kernel.problems import Problem, kind_of
from kernel.regime import Regime
from kernel.signed import sign_statement
from superapp_gateway import wallet
from superapp_gateway.catalogue import payees
from superapp_gateway.departments import DepartmentClient
from superapp_gateway.dependencies import GatewayState
from superapp_gateway.errors import BillNotPayable, UnknownPayee
from superapp_gateway.models import PaymentStatus, WalletPayment
from superapp_gateway.policy import GatewayPolicy

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
# Refusals that mean "no bill of yours has this reference and amount": there is no such bill, it
# is someone else's, the amount (or another claim) is not the bill's, the reference is malformed.
# The department says which, and may name what it expected; the citizen is told none of it, and
# all of them alike (``BillNotPayable``), so the wallet cannot be used to find out which bills
# exist, whose they are or what they cost (by paying wrong amounts until the answer changes).
NO_MATCHING_BILL = frozenset({404, 422})


@dataclass(frozen=True)
class Cashier:
    """What taking a wallet payment to its department uses."""

    database: Database
    departments: DepartmentClient
    policy: GatewayPolicy  # who the confirmation names as the payer
    signing_key: ECKey  # the wallet's, which signs the confirmation
    issuer: str
    regime: Regime
    clock: Clock
    starting_balance_cents: int  # what a wallet holds when it opens

    @classmethod
    def of(cls, state: GatewayState) -> Cashier:
        """The cashier as the gateway's state and settings are now (tests and workshops change them)."""
        return cls(
            database=state.database,
            departments=state.department_client(),
            policy=state.policy,
            signing_key=state.signing_key,
            issuer=state.settings.service_name,
            regime=state.settings.regime,
            clock=state.clock,
            starting_balance_cents=state.settings.wallet_starting_balance_cents,
        )


@dataclass(frozen=True)
class Answer:
    """What one attempt learned from the department."""

    verdict: Literal["taken", "refused", "no-answer"]
    reason: str = ""
    receipt: str | None = None
    timed_out: bool = False
    # a refusal: the department's problem+json body and status, or "no bill of yours matches"
    problem: dict[str, Any] = field(default_factory=dict)
    status_code: int | None = None
    no_matching_bill: bool = False


def checked_payee(cashier: Cashier, payee: str) -> str:
    known = payees(cashier.regime) & PAYMENT_PATHS.keys()
    if payee not in known:
        raise UnknownPayee(payee, known)
    return payee


def confirmation_for(cashier: Cashier, payment: WalletPayment) -> str:
    """The wallet's signed statement: a function of the payment alone, so every attempt asserts the same."""
    claims = {
        "payment_id": payment.id,
        "payer": cashier.policy.payer_for(payment.subject, payment.id),
        "payee": payment.payee,
        "reference": payment.reference,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "idempotency_key": payment.id,
    }
    return sign_statement(cashier.signing_key, issuer=cashier.issuer, typ=STATEMENT_TYPE, claims=claims)


async def _ask(cashier: Cashier, payment: WalletPayment) -> Answer:
    path = PAYMENT_PATHS[payment.payee].format(reference=quote(payment.reference, safe=""))
    try:
        response = await cashier.departments.within_timeout(
            payment.payee,
            "POST",
            path,
            json={"confirmation": confirmation_for(cashier, payment)},
            headers={"Idempotency-Key": payment.id},
        )
    except TimeoutError:
        return Answer("no-answer", "no answer in time", timed_out=True)
    except Problem as problem:  # the kernel client: unreachable (503), timed out (504), no token (502)
        return Answer("no-answer", f"{problem.kind or problem.type}: {problem.detail}", timed_out=problem.status == 504)
    except httpx.HTTPError as error:
        return Answer("no-answer", f"{type(error).__name__}: {error}")
    body = json_or_empty(response)
    if response.status_code in (200, 201):
        return Answer("taken", receipt=str(body.get("receipt_id")) if body.get("receipt_id") else None)
    if 400 <= response.status_code < 500 and response.status_code not in NOT_YET_DECIDED:
        problem_type = str(body.get("type", ""))
        kind = kind_of(problem_type) or problem_type
        if response.status_code in NO_MATCHING_BILL:
            log.info("payment %s refused by %s: %s %s", payment.id, payment.payee, response.status_code, kind)
            return Answer(
                "refused",
                f"{BillNotPayable.status} {BillNotPayable.kind}: {BillNotPayable.DETAIL}",
                status_code=BillNotPayable.status,
                no_matching_bill=True,
            )
        return Answer(
            "refused",
            f"{response.status_code} {kind}: {body.get('detail', '')}",
            problem=body,
            status_code=response.status_code,
        )
    return Answer("no-answer", f"the department answered {response.status_code}")


async def attempt(cashier: Cashier, payment: WalletPayment) -> tuple[WalletPayment, Answer]:
    """Send a pending payment to its department once and settle it by the answer. Returns the
    payment as stored afterwards (another attempt may have settled it meanwhile) and the answer."""
    answer = await _ask(cashier, payment)
    stored = await run_in_threadpool(_settle, cashier, payment.id, answer)
    if answer.verdict == "taken" and stored.status is PaymentStatus.CANCELLED:
        # cannot happen while departments keep their word (a refusal of a request is final); loud if it does
        log.error("payment %s was taken by %s after it was cancelled and refunded", payment.id, payment.payee)
    log.info("payment %s at %s: %s (%s)", payment.id, payment.payee, answer.verdict, answer.reason or "ok")
    return stored, answer


def _settle(cashier: Cashier, payment_id: str, answer: Answer) -> WalletPayment:
    now = cashier.clock()
    with cashier.database.session() as session:
        if answer.verdict == "taken":
            return wallet.complete(session, payment_id, receipt=answer.receipt, now=now)
        if answer.verdict == "refused":
            return wallet.cancel_and_refund(session, payment_id, reason=answer.reason, now=now)
        return wallet.record_no_answer(session, payment_id, reason=answer.reason, now=now)
