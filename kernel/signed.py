"""Signed statements between services: a JWS one service signs and another checks offline.

Used where a call's authentication is not enough and the receiver must be able to show later
what the sender asserted — e.g. the wallet's payment confirmation that a department files with
the payment. Signed with the sender's service key (ES256), checked against the sender's
published JWKS, and typed (``typ``) so one kind of statement cannot pass for another.

Documents that others hash or store (consent receipts, the prescriptions a hospital deposits in a
patient's pod) are signed over their RFC 8785 canonical JSON instead (``sign_canonical``,
``verify_canonical``): exactly one byte string per document, so a digest of it means one thing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import rfc8785
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from kernel.keys import SIGNING_ALGORITHM, signature_key_set

CLOCK_LEEWAY_SECONDS = 10
REFRESH_MIN_SECONDS = 30


class InvalidStatement(ValueError):
    pass


def sign_statement(key: ECKey, *, issuer: str, typ: str, claims: dict[str, Any], now: int | None = None) -> str:
    key.ensure_kid()
    payload = {**claims, "iss": issuer, "iat": now if now is not None else int(time.time())}
    return jwt.encode({"alg": SIGNING_ALGORITHM, "typ": typ, "kid": key.kid}, payload, KeySet([key]))


def sign_canonical(document: dict[str, Any], key: ECKey, *, typ: str) -> str:
    """A compact JWS (ES256, ``typ``, the key's kid) over ``document``'s RFC 8785 canonical JSON."""
    key.ensure_kid()
    return jws.serialize_compact({"alg": SIGNING_ALGORITHM, "typ": typ, "kid": key.kid}, rfc8785.dumps(document), key)


def verify_canonical(signed: str, keys: KeySet, *, typ: str) -> dict[str, Any]:
    """The document of a compact JWS of type ``typ`` signed by one of ``keys`` over canonical JSON, or
    InvalidStatement (a payload in any other serialisation is refused: one byte string per document)."""
    try:
        header = jws.extract_compact(signed.encode("ascii")).headers()
    except (JoseError, UnicodeEncodeError, ValueError) as error:
        raise InvalidStatement("not a compact JWS") from error
    if header.get("alg") != SIGNING_ALGORITHM or header.get("typ") != typ:
        raise InvalidStatement(f"not a {typ} (alg/typ)")
    try:
        payload = jws.deserialize_compact(signed, keys, algorithms=[SIGNING_ALGORITHM]).payload
    except (JoseError, ValueError) as error:
        raise InvalidStatement("the signature does not verify") from error
    try:
        document = json.loads(payload)
    except ValueError as error:
        raise InvalidStatement("the payload is not JSON") from error
    if not isinstance(document, dict) or rfc8785.dumps(document) != payload:
        raise InvalidStatement("the payload is not RFC 8785 canonical JSON")
    return document


class StatementVerifier:
    """Checks statements of one type from one signer service, whose JWKS ``fetch_jwks`` returns."""

    def __init__(
        self, *, signer: str, typ: str, fetch_jwks: Callable[[], Awaitable[dict[str, Any]]], max_age_seconds: int
    ) -> None:
        self.signer = signer
        self.typ = typ
        self._fetch_jwks = fetch_jwks
        self.max_age_seconds = max_age_seconds
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(self, statement: str, now: int | None = None) -> dict[str, Any]:
        try:
            header = jws.extract_compact(statement.encode("ascii")).headers()
        except (JoseError, UnicodeEncodeError, ValueError) as error:
            raise InvalidStatement("not a compact JWS") from error
        if header.get("alg") != SIGNING_ALGORITHM:
            raise InvalidStatement(f"algorithm {header.get('alg')!r} is not accepted")
        if header.get("typ") != self.typ:
            raise InvalidStatement(f"expected a {self.typ} statement, got {header.get('typ')!r}")
        keys = await self._keys_with(header.get("kid"))
        try:
            claims = jwt.decode(statement, keys, algorithms=[SIGNING_ALGORITHM]).claims
        except (JoseError, ValueError) as error:
            raise InvalidStatement(f"signature does not verify: {error}") from error
        if claims.get("iss") != self.signer:
            raise InvalidStatement(f"signed by {claims.get('iss')!r}, not {self.signer!r}")
        issued = int(claims.get("iat", 0))
        moment = now if now is not None else int(time.time())
        if issued > moment + CLOCK_LEEWAY_SECONDS or moment - issued > self.max_age_seconds:
            raise InvalidStatement("the statement is too old or from the future")
        return claims

    async def _keys_with(self, kid: str | None) -> KeySet:
        # One fetch for many concurrent first statements; an unknown kid refetches at most every
        # REFRESH_MIN_SECONDS, so statements with invented kids cannot make us hammer the signer.
        if not self._knows(kid):
            async with self._lock:
                stale = time.monotonic() - self._fetched_at >= REFRESH_MIN_SECONDS
                if self._keys is None or (not self._knows(kid) and stale):
                    # the signer also publishes its encryption key (use: enc): never a verification key
                    self._keys = signature_key_set(await self._fetch_jwks())
                    self._fetched_at = time.monotonic()
        if not self._knows(kid):
            raise InvalidStatement(f"signed by a key {self.signer} does not publish")
        assert self._keys is not None
        return self._keys

    def _knows(self, kid: str | None) -> bool:
        return self._keys is not None and kid is not None and any(key.kid == kid for key in self._keys.keys)
