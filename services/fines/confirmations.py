"""The wallet's signed payment confirmation (a ``payment+jwt`` statement from the gateway).

A refused confirmation is a **422** problem (``invalid-payment-confirmation``), not a 401: the
call itself is authenticated by its access token, the confirmation is part of the request body.
A 401 would also tell the kernel's client that its token was refused, so it would drop the
token and send the payment again, and the gateway would turn it into a 502; a 422 reaches the
citizen as what it is.
"""

from __future__ import annotations

from fastapi import FastAPI

from kernel.problems import Problem
from kernel.signed import InvalidStatement, StatementVerifier
from services.fines.domain import PaymentConfirmation

SIGNER = "gateway"
STATEMENT_TYPE = "payment+jwt"
MAX_AGE_SECONDS = 86400
TEXT_CLAIMS = ("payment_id", "payer", "payee", "reference", "currency", "idempotency_key")
MAX_CLAIM_LENGTH = 200  # the longest payment id the payments table keeps


class InvalidPaymentConfirmation(Problem):
    def __init__(self, reason: str) -> None:
        super().__init__(422, f"The payment confirmation is not valid: {reason}.", kind="invalid-payment-confirmation")


def install_verifier(app: FastAPI) -> None:
    """Once per app, when its outgoing client exists (the gateway's keys are fetched on first use)."""
    app.state.payment_verifier = StatementVerifier(
        signer=SIGNER,
        typ=STATEMENT_TYPE,
        max_age_seconds=MAX_AGE_SECONDS,
        fetch_jwks=lambda: app.state.services.fetch_peer_jwks(SIGNER),
    )


async def verified_confirmation(app: FastAPI, statement: str) -> PaymentConfirmation:
    verifier: StatementVerifier = app.state.payment_verifier
    try:
        claims = await verifier.verify(statement)
    except InvalidStatement as error:
        raise InvalidPaymentConfirmation(str(error)) from error
    missing = [
        name
        for name in TEXT_CLAIMS
        if not isinstance(claims.get(name), str) or not 0 < len(claims[name]) <= MAX_CLAIM_LENGTH
    ]
    amount = claims.get("amount_cents")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        missing.append("amount_cents")
    if missing:
        raise InvalidPaymentConfirmation(f"missing or malformed claims: {', '.join(missing)}")
    return PaymentConfirmation(
        payment_id=claims["payment_id"],
        payer=claims["payer"],
        payee=claims["payee"],
        reference=claims["reference"],
        amount_cents=amount,
        currency=claims["currency"],
        idempotency_key=claims["idempotency_key"],
        statement=statement,
    )
