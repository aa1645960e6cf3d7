"""The wallet's signed payment confirmation, as every department that is paid checks it.

The super-app's wallet (the gateway) charges the citizen and signs what it charged: a
``payment+jwt`` statement (``kernel.signed``) with its service key. A department files it with the
payment, so it can show later who paid what. ``PaymentConfirmationVerifier`` checks one: the
gateway's signature and the statement's type and age, then that every claim is there and well
formed, and answers a ``PaymentConfirmation``. Whether the confirmation fits *this* payment (the
payee, the reference, the amount, the payer the regime accepts) is the department's own rule.

A refused confirmation is a **422** problem (``invalid-payment-confirmation``), not a 401: the
call itself is authenticated by its access token, the confirmation is part of the request body.
A 401 would also tell the kernel's client that its token was refused, so it would drop the
token and send the payment again, and the gateway would turn it into a 502; a 422 reaches the
citizen as what it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kernel.problems import Problem
from kernel.signed import InvalidStatement, StatementVerifier

SIGNER = "gateway"  # the wallet signs with the gateway's service key
STATEMENT_TYPE = "payment+jwt"
MAX_AGE_SECONDS = 86400
TEXT_CLAIMS = ("payment_id", "payer", "payee", "reference", "currency", "idempotency_key")
AMOUNT_CLAIM = "amount_cents"

JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


class InvalidPaymentConfirmation(Problem):
    status, kind = 422, "invalid-payment-confirmation"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The payment confirmation is not valid: {reason}.")


@dataclass(frozen=True)
class PaymentConfirmation:
    """The claims of a verified payment confirmation, and the statement itself (to file)."""

    payment_id: str  # the wallet's id of the charge
    payer: str  # platform: the payer's resident ID; rights: the wallet's opaque per-payment value
    payee: str  # the service paid
    reference: str  # what was paid (the department's id of it)
    amount_cents: int
    currency: str
    idempotency_key: str  # the key the payment is made under
    statement: str  # the compact JWS

    def asserted(self) -> dict[str, str | int]:
        """What the wallet asserted: the claims, without the signature or the signing time."""
        return {
            "payment_id": self.payment_id,
            "payer": self.payer,
            "payee": self.payee,
            "reference": self.reference,
            "amount_cents": self.amount_cents,
            "currency": self.currency,
            "idempotency_key": self.idempotency_key,
        }


def payment_confirmation(claims: Mapping[str, Any], statement: str, *, max_claim_length: int) -> PaymentConfirmation:
    """The confirmation ``claims`` (of a statement whose signature is checked) assert, or
    ``InvalidPaymentConfirmation`` naming every claim that is missing or malformed: each text claim
    a string of 1 to ``max_claim_length`` characters, the amount a non-negative integer."""
    malformed = [name for name in TEXT_CLAIMS if not _is_text(claims.get(name), max_claim_length)]
    amount = claims.get(AMOUNT_CLAIM)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        malformed.append(AMOUNT_CLAIM)
    if malformed:
        raise InvalidPaymentConfirmation(f"missing or malformed claims: {', '.join(malformed)}")
    assert isinstance(amount, int)
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


def _is_text(value: object, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length


class PaymentConfirmationVerifier:
    """Checks the wallet's payment confirmations for one department.

    ``fetch_jwks`` returns the gateway's published keys (fetched on first use, so the verifier may
    be built before the department serves); ``max_claim_length`` is the longest text claim the
    department's payments table keeps.
    """

    def __init__(
        self, fetch_jwks: JwksFetcher, *, max_claim_length: int, max_age_seconds: int = MAX_AGE_SECONDS
    ) -> None:
        self.max_claim_length = max_claim_length
        self._statements = StatementVerifier(
            signer=SIGNER, typ=STATEMENT_TYPE, fetch_jwks=fetch_jwks, max_age_seconds=max_age_seconds
        )

    async def verify(self, statement: str) -> PaymentConfirmation:
        try:
            claims = await self._statements.verify(statement)
        except InvalidStatement as error:
            raise InvalidPaymentConfirmation(str(error)) from error
        return payment_confirmation(claims, statement, max_claim_length=self.max_claim_length)
