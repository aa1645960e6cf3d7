"""The one payment-confirmation verifier the departments that are paid share (kernel/payment_confirmations.py)."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import ECKey

from kernel.keys import public_jwks
from kernel.payment_confirmations import (
    InvalidPaymentConfirmation,
    PaymentConfirmation,
    PaymentConfirmationVerifier,
    payment_confirmation,
)
from kernel.signed import sign_statement

WALLET = ECKey.generate_key("P-256", private=True)
WALLET.ensure_kid()
CLAIMS: dict[str, Any] = {
    "payment_id": "pay-1",
    "payer": "wallet:w-1",
    "payee": "fines",
    "reference": "7",
    "amount_cents": 20000,
    "currency": "CNY",
    "idempotency_key": "key-1",
}


def verifier(max_claim_length: int = 200) -> PaymentConfirmationVerifier:
    async def fetch() -> dict[str, Any]:
        return public_jwks(WALLET)

    return PaymentConfirmationVerifier(fetch, max_claim_length=max_claim_length)


async def test_a_confirmation_the_wallet_signed_is_its_claims_and_the_statement():
    statement = sign_statement(WALLET, issuer="gateway", typ="payment+jwt", claims=CLAIMS)
    confirmation = await verifier().verify(statement)
    assert confirmation == PaymentConfirmation(**CLAIMS, statement=statement)
    assert confirmation.asserted() == CLAIMS  # neither the signature nor the signing time


@pytest.mark.parametrize(
    ("issuer", "typ"),
    [("fines", "payment+jwt"), ("gateway", "receipt+jwt")],
)
async def test_a_statement_of_another_signer_or_type_is_an_invalid_confirmation(issuer, typ):
    statement = sign_statement(WALLET, issuer=issuer, typ=typ, claims=CLAIMS)
    with pytest.raises(InvalidPaymentConfirmation) as raised:
        await verifier().verify(statement)
    assert (raised.value.status, raised.value.kind) == (422, "invalid-payment-confirmation")


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"payment_id": None}, "payment_id"),
        ({"payer": ""}, "payer"),
        ({"reference": 7}, "reference"),
        ({"idempotency_key": "k" * 201}, "idempotency_key"),
        ({"amount_cents": "20000"}, "amount_cents"),
        ({"amount_cents": True}, "amount_cents"),
        ({"amount_cents": -1}, "amount_cents"),
    ],
)
def test_every_missing_or_malformed_claim_is_named(changed, named):
    with pytest.raises(InvalidPaymentConfirmation) as raised:
        payment_confirmation(CLAIMS | changed, "jws", max_claim_length=200)
    assert str(raised.value).endswith(f"missing or malformed claims: {named}.")


def test_the_longest_claim_is_the_departments():
    long_id = CLAIMS | {"payment_id": "p" * 50}
    assert payment_confirmation(long_id, "jws", max_claim_length=50).payment_id == "p" * 50
    with pytest.raises(InvalidPaymentConfirmation):
        payment_confirmation(long_id, "jws", max_claim_length=49)
