"""The issuer's side: sign a credential bound to the holder's key, its claims disclosable one by one."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from kernel.keys import SIGNING_ALGORITHM
from kernel.sd_jwt.encoding import (
    DIGEST_ALGORITHM,
    RESERVED_CLAIMS,
    SALT_BYTES,
    SD_JWT_TYPE,
    SEPARATOR,
    SdJwtError,
    b64encode,
    compact_json,
    digest_of,
    encode_disclosure,
    new_salt,
    seconds_now,
)

# _sd is padded with decoys to a multiple of this, so a card reveals only which band of eight
# its count of disclosable claims falls in; ID cards carrying the same claims all look alike.
DIGEST_BLOCK = 8


def issue_sd_jwt(
    *,
    issuer: str,
    issuer_key: ECKey,
    holder_public_jwk: dict[str, Any],
    claims: dict[str, Any],
    disclosable: set[str],
    vct: str,
    ttl_seconds: int,
    now: int | None = None,
) -> str:
    """Sign a credential bound to the holder's key: ``<issuer-jwt>~<disclosure>~...~``.

    Claims named in ``disclosable`` appear in the signed payload only as digests in ``_sd``
    (sorted, padded with decoys, so neither order nor count says which claims they are).
    """
    reserved = RESERVED_CLAIMS & claims.keys()
    if reserved:
        raise SdJwtError(f"claims may not set {sorted(reserved)}: the issuer sets them")
    missing = disclosable - claims.keys()
    if missing:
        raise SdJwtError(f"disclosable claims {sorted(missing)} are not among the claims")
    if ttl_seconds <= 0:
        raise SdJwtError("ttl_seconds must be positive")
    issued_at = seconds_now(now)
    disclosures = [encode_disclosure(new_salt(), name, claims[name]) for name in sorted(disclosable)]
    digests = [digest_of(disclosure) for disclosure in disclosures]
    decoys = -len(digests) % DIGEST_BLOCK
    digests += [b64encode(hashlib.sha256(secrets.token_bytes(SALT_BYTES)).digest()) for _ in range(decoys)]
    payload = {
        "iss": issuer,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "vct": vct,
        "cnf": {"jwk": _public_holder_jwk(holder_public_jwk)},
        **{name: value for name, value in claims.items() if name not in disclosable},
        "_sd": sorted(digests),
        "_sd_alg": DIGEST_ALGORITHM,
    }
    issuer_key.ensure_kid()
    header = {"alg": SIGNING_ALGORITHM, "typ": SD_JWT_TYPE, "kid": issuer_key.kid}
    issuer_jwt = jws.serialize_compact(header, compact_json(payload), issuer_key, algorithms=[SIGNING_ALGORITHM])
    return SEPARATOR.join([issuer_jwt, *disclosures, ""])


def _public_holder_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """Only the public P-256 coordinates go into ``cnf``: never ``d``, even if a caller passes it."""
    try:
        key = ECKey.import_key({name: jwk[name] for name in ("kty", "crv", "x", "y")})
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise SdJwtError("holder_public_jwk is not an EC public key") from error
    if key.as_dict()["crv"] != "P-256":
        raise SdJwtError("the holder key must be P-256, to sign ES256 key binding JWTs")
    return {name: jwk[name] for name in ("kty", "crv", "x", "y")}
