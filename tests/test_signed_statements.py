from __future__ import annotations

import time

import pytest
from joserfc.jwk import ECKey

from kernel.keys import public_jwks
from kernel.signed import InvalidStatement, StatementVerifier, sign_statement

WALLET = ECKey.generate_key("P-256", private=True)
WALLET.ensure_kid()


def verifier(typ: str = "payment+jwt", max_age: int = 3600) -> StatementVerifier:
    async def fetch() -> dict:
        return public_jwks(WALLET)

    return StatementVerifier(signer="gateway", typ=typ, fetch_jwks=fetch, max_age_seconds=max_age)


async def test_a_signed_statement_verifies_and_returns_its_claims():
    statement = sign_statement(WALLET, issuer="gateway", typ="payment+jwt", claims={"amount_cents": 20000})
    claims = await verifier().verify(statement)
    assert claims["amount_cents"] == 20000 and claims["iss"] == "gateway"


@pytest.mark.parametrize("make", [
    lambda: sign_statement(ECKey.generate_key("P-256", private=True), issuer="gateway", typ="payment+jwt", claims={}),
    lambda: sign_statement(WALLET, issuer="fines", typ="payment+jwt", claims={}),
    lambda: sign_statement(WALLET, issuer="gateway", typ="other+jwt", claims={}),
    lambda: sign_statement(WALLET, issuer="gateway", typ="payment+jwt", claims={}, now=int(time.time()) - 7200),
    lambda: "not.a.jws",
])
async def test_forged_mistyped_foreign_or_stale_statements_are_refused(make):
    with pytest.raises(InvalidStatement):
        await verifier().verify(make())
