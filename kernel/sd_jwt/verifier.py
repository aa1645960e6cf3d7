"""The verifier's side: every check RFC 9901 §7 asks of a presentation, and the claims it proves."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from kernel.keys import SIGNING_ALGORITHM
from kernel.sd_jwt.encoding import (
    DIGEST_ALGORITHM,
    KB_JWT_TYPE,
    SD_JWT_TYPE,
    SEPARATOR,
    SdJwtError,
    decode_disclosure,
    digest_of,
    is_int,
    json_object,
    jws_header,
    seconds_now,
    split_parts,
)

# Allowed clock difference between issuer, holder and verifier.
CLOCK_LEEWAY_SECONDS = 10


def verify_presentation(
    presentation: str,
    *,
    issuer_keys: KeySet,
    expected_issuer: str,
    audience: str,
    nonce: str,
    now: int | None = None,
    max_kb_age_seconds: int = 300,
) -> dict[str, Any]:
    """Check a presentation as RFC 9901 §7 asks; return the claims it proves.

    The result is the issuer's payload with the presented disclosures merged in and ``_sd`` /
    ``_sd_alg`` removed, so undisclosed claims are simply absent.
    """
    current = seconds_now(now)
    issuer_jwt, disclosures, key_binding = split_parts(presentation)
    payload = _verify_issuer_jwt(issuer_jwt, issuer_keys)
    _check_credential_claims(payload, expected_issuer, current)
    claims = _apply_disclosures(payload, disclosures)
    if not key_binding:
        raise SdJwtError("no key binding JWT: the presentation does not prove possession of the holder key")
    presented = presentation[: presentation.rindex(SEPARATOR) + 1]
    _verify_key_binding(key_binding, payload["cnf"]["jwk"], presented, audience, nonce, current, max_kb_age_seconds)
    return claims


def _verify_issuer_jwt(issuer_jwt: str, issuer_keys: KeySet) -> dict[str, Any]:
    header = jws_header(issuer_jwt, "issuer-signed JWT")
    if header.get("alg") != SIGNING_ALGORITHM:
        raise SdJwtError(f"issuer-signed JWT: algorithm {header.get('alg')!r} is not accepted, only ES256")
    if header.get("typ") != SD_JWT_TYPE:
        raise SdJwtError(f"issuer-signed JWT: typ {header.get('typ')!r} is not {SD_JWT_TYPE!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or all(key.kid != kid for key in issuer_keys.keys):
        raise SdJwtError(f"issuer-signed JWT: signed with key {kid!r}, which is not one of the issuer's keys")
    try:
        signed = jws.deserialize_compact(issuer_jwt, issuer_keys, algorithms=[SIGNING_ALGORITHM])
    except (JoseError, ValueError) as error:
        raise SdJwtError("issuer-signed JWT: the signature does not verify") from error
    return json_object(signed.payload, "issuer-signed JWT payload")


def _check_credential_claims(payload: dict[str, Any], expected_issuer: str, now: int) -> None:
    if payload.get("iss") != expected_issuer:
        raise SdJwtError(f"issuer {payload.get('iss')!r} is not the expected {expected_issuer!r}")
    expires = payload.get("exp")
    if not is_int(expires):
        raise SdJwtError("the credential has no numeric exp")
    if now >= expires + CLOCK_LEEWAY_SECONDS:
        raise SdJwtError(f"the credential expired at {expires}")
    for claim in ("iat", "nbf"):
        if claim in payload and (not is_int(payload[claim]) or payload[claim] > now + CLOCK_LEEWAY_SECONDS):
            raise SdJwtError(f"the credential's {claim} is not a time in the past")
    if payload.get("_sd_alg", DIGEST_ALGORITHM) != DIGEST_ALGORITHM:
        raise SdJwtError(f"_sd_alg {payload.get('_sd_alg')!r} is not supported, only {DIGEST_ALGORITHM!r}")
    cnf = payload.get("cnf")
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict):
        raise SdJwtError("the credential names no holder key (cnf.jwk)")


def _apply_disclosures(payload: dict[str, Any], disclosures: list[str]) -> dict[str, Any]:
    """Merge each presented disclosure whose digest is in ``_sd`` exactly once; refuse any other."""
    digests = payload.get("_sd", [])
    if not isinstance(digests, list) or not all(isinstance(digest, str) for digest in digests):
        raise SdJwtError("_sd is not a list of digests")
    if len(set(digests)) != len(digests):
        raise SdJwtError("a digest appears more than once in _sd")
    claims = {name: value for name, value in payload.items() if name not in ("_sd", "_sd_alg")}
    _refuse_nested_disclosures(claims.values())
    seen: set[str] = set()
    for disclosure in disclosures:
        digest = digest_of(disclosure)
        if digest in seen:
            raise SdJwtError(f"disclosure {digest} is presented more than once")
        seen.add(digest)
        if digest not in digests:
            raise SdJwtError(f"disclosure {digest} is not referenced by the issuer-signed JWT")
        name, value = decode_disclosure(disclosure)
        if name in claims:
            raise SdJwtError(f"disclosure {digest} names claim {name!r}, which is already present")
        _refuse_nested_disclosures([value])
        claims[name] = value
    return claims


def _verify_key_binding(
    key_binding: str, holder_jwk: dict[str, Any], presented: str, audience: str, nonce: str, now: int, max_age: int
) -> None:
    header = jws_header(key_binding, "key binding JWT")
    if header.get("alg") != SIGNING_ALGORITHM:
        raise SdJwtError(f"key binding JWT: algorithm {header.get('alg')!r} is not accepted, only ES256")
    if header.get("typ") != KB_JWT_TYPE:
        raise SdJwtError(f"key binding JWT: typ {header.get('typ')!r} is not {KB_JWT_TYPE!r}")
    try:
        holder_key = ECKey.import_key(holder_jwk)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise SdJwtError("the credential's holder key (cnf.jwk) is not a usable EC key") from error
    try:
        signed = jws.deserialize_compact(key_binding, holder_key, algorithms=[SIGNING_ALGORITHM])
    except (JoseError, ValueError) as error:
        raise SdJwtError("key binding JWT: not signed by the holder key the credential names") from error
    claims = json_object(signed.payload, "key binding JWT payload")
    if claims.get("aud") != audience:
        raise SdJwtError(f"key binding JWT: audience {claims.get('aud')!r} is not {audience!r}")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise SdJwtError("key binding JWT: nonce does not match this request")
    issued_at = claims.get("iat")
    if not is_int(issued_at):
        raise SdJwtError("key binding JWT: no numeric iat")
    if issued_at > now + CLOCK_LEEWAY_SECONDS:
        raise SdJwtError(f"key binding JWT: iat {issued_at} is in the future")
    if now - issued_at > max_age:
        raise SdJwtError(f"key binding JWT: made {now - issued_at}s ago, more than {max_age}s")
    sd_hash = claims.get("sd_hash")
    if not isinstance(sd_hash, str) or not hmac.compare_digest(sd_hash, digest_of(presented)):
        raise SdJwtError("key binding JWT: sd_hash does not match the presented SD-JWT and disclosures")


def _refuse_nested_disclosures(values: Iterable[Any]) -> None:
    """Digests below the top level would be left undisclosed yet look like data: refuse them."""
    for value in values:
        if isinstance(value, dict):
            if "_sd" in value or "_sd_alg" in value:
                raise SdJwtError("nested selective disclosure is not supported")
            _refuse_nested_disclosures(value.values())
        elif isinstance(value, list):
            if any(isinstance(item, dict) and "..." in item for item in value):
                raise SdJwtError("array-element selective disclosure is not supported")
            _refuse_nested_disclosures(value)
