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


@pytest.mark.parametrize(
    "make",
    [
        lambda: sign_statement(
            ECKey.generate_key("P-256", private=True), issuer="gateway", typ="payment+jwt", claims={}
        ),
        lambda: sign_statement(WALLET, issuer="fines", typ="payment+jwt", claims={}),
        lambda: sign_statement(WALLET, issuer="gateway", typ="other+jwt", claims={}),
        lambda: sign_statement(WALLET, issuer="gateway", typ="payment+jwt", claims={}, now=int(time.time()) - 7200),
        lambda: "not.a.jws",
    ],
)
async def test_forged_mistyped_foreign_or_stale_statements_are_refused(make):
    with pytest.raises(InvalidStatement):
        await verifier().verify(make())


async def test_concurrent_first_statements_fetch_the_signers_keys_once():
    import asyncio

    fetches = 0

    async def fetch() -> dict:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.01)
        return public_jwks(WALLET)

    checking = StatementVerifier(signer="gateway", typ="payment+jwt", fetch_jwks=fetch, max_age_seconds=60)
    statement = sign_statement(WALLET, issuer="gateway", typ="payment+jwt", claims={})
    await asyncio.gather(*(checking.verify(statement) for _ in range(20)))
    stranger = sign_statement(ECKey.generate_key("P-256", private=True), issuer="gateway", typ="payment+jwt", claims={})
    for _ in range(5):
        with pytest.raises(InvalidStatement):
            await checking.verify(stranger)
    assert fetches == 1
