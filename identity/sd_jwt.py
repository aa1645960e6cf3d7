"""SD-JWT (RFC 9901) with holder key binding: the format of the selectively disclosable ID card.

The issuer signs digests of the claims, not the claims; the holder hands a verifier only the
disclosures (salt, name, value) it chooses, and proves with a Key Binding JWT (KB-JWT) signed by
the key named in ``cnf`` that it is the holder and that this presentation was made for this
verifier (``aud``), this request (``nonce``) and just now (``iat``). So a verifier can check
"over 18, lives in Guangzhou" without learning a name or a birthdate, and cannot replay what it
was shown to someone else.

Written on joserfc, the project's JOSE stack, rather than on the ``sd-jwt`` reference
implementation: that one brings a second JOSE library (jwcrypto) and leaves checks a verifier
needs (expiry, KB-JWT age, issuer ``typ``, refusing unreferenced disclosures) to the caller.
Only what the ID card uses is supported: disclosable top-level claims, ``sha-256``, ES256, and
presentations that always carry a KB-JWT. Anything else is refused, never silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable
from typing import Any, TypeGuard

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from kernel.keys import SIGNING_ALGORITHM

SD_JWT_TYPE = "dc+sd-jwt"
KB_JWT_TYPE = "kb+jwt"
DIGEST_ALGORITHM = "sha-256"
SEPARATOR = "~"
SALT_BYTES = 16
# _sd is padded with decoys to a multiple of this, so a card reveals only which band of eight
# its count of disclosable claims falls in; ID cards carrying the same claims all look alike.
DIGEST_BLOCK = 8
# Allowed clock difference between issuer, holder and verifier.
CLOCK_LEEWAY_SECONDS = 10
# Claims that hold the credential's own machinery: never taken from ``claims``, never disclosable.
RESERVED_CLAIMS = frozenset({"iss", "iat", "exp", "nbf", "vct", "cnf", "_sd", "_sd_alg", "..."})

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class SdJwtError(ValueError):
    """An SD-JWT or presentation that must not be issued, presented or accepted; says why."""


def issue_sd_jwt(
    *,
    issuer: str,
    issuer_key: ECKey,
    holder_public_jwk: dict,
    claims: dict,
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
    issued_at = _now(now)
    disclosures = [_encode_disclosure(_salt(), name, claims[name]) for name in sorted(disclosable)]
    digests = [digest_of(disclosure) for disclosure in disclosures]
    decoys = -len(digests) % DIGEST_BLOCK
    digests += [_b64encode(hashlib.sha256(secrets.token_bytes(SALT_BYTES)).digest()) for _ in range(decoys)]
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
    issuer_jwt = jws.serialize_compact(header, _json(payload), issuer_key, algorithms=[SIGNING_ALGORITHM])
    return SEPARATOR.join([issuer_jwt, *disclosures, ""])


def present(
    sd_jwt: str,
    *,
    disclose: set[str],
    holder_key: ECKey,
    audience: str,
    nonce: str,
    now: int | None = None,
) -> str:
    """The holder's presentation to one verifier: chosen disclosures only, then a KB-JWT.

    Refuses to present a credential bound to some other key, or to disclose a claim the
    credential does not have, rather than produce something every verifier would reject.
    """
    issuer_jwt, disclosures, key_binding = _split(sd_jwt)
    if key_binding:
        raise SdJwtError("already a presentation: present the SD-JWT as issued")
    payload = _unverified_payload(issuer_jwt)
    bound_jwk = payload.get("cnf", {}).get("jwk") if isinstance(payload.get("cnf"), dict) else None
    if not isinstance(bound_jwk, dict) or _thumbprint(bound_jwk) != holder_key.thumbprint():
        raise SdJwtError("the credential is not bound to this holder key")
    names = {disclosure: _decode_disclosure(disclosure)[0] for disclosure in disclosures}
    unavailable = disclose - set(names.values()) - (payload.keys() - RESERVED_CLAIMS)
    if unavailable:
        raise SdJwtError(f"the credential has no claims {sorted(unavailable)} to disclose")
    chosen = [disclosure for disclosure in disclosures if names[disclosure] in disclose]
    presented = SEPARATOR.join([issuer_jwt, *chosen, ""])
    kb_payload = {"iat": _now(now), "aud": audience, "nonce": nonce, "sd_hash": digest_of(presented)}
    kb_header = {"alg": SIGNING_ALGORITHM, "typ": KB_JWT_TYPE}
    return presented + jws.serialize_compact(kb_header, _json(kb_payload), holder_key, algorithms=[SIGNING_ALGORITHM])


def verify_presentation(
    presentation: str,
    *,
    issuer_keys: KeySet,
    expected_issuer: str,
    audience: str,
    nonce: str,
    now: int | None = None,
    max_kb_age_seconds: int = 300,
) -> dict:
    """Check a presentation as RFC 9901 §7 asks; return the claims it proves.

    The result is the issuer's payload with the presented disclosures merged in and ``_sd`` /
    ``_sd_alg`` removed, so undisclosed claims are simply absent.
    """
    current = _now(now)
    issuer_jwt, disclosures, key_binding = _split(presentation)
    payload = _verify_issuer_jwt(issuer_jwt, issuer_keys)
    _check_credential_claims(payload, expected_issuer, current)
    claims = _apply_disclosures(payload, disclosures)
    if not key_binding:
        raise SdJwtError("no key binding JWT: the presentation does not prove possession of the holder key")
    presented = presentation[: presentation.rindex(SEPARATOR) + 1]
    _verify_key_binding(key_binding, payload["cnf"]["jwk"], presented, audience, nonce, current, max_kb_age_seconds)
    return claims


def digest_of(disclosure_or_presentation: str) -> str:
    """base64url(SHA-256) over the ASCII text, as both ``_sd`` digests and ``sd_hash`` are taken."""
    try:
        data = disclosure_or_presentation.encode("ascii")
    except UnicodeEncodeError as error:
        raise SdJwtError("an SD-JWT is ASCII text") from error
    return _b64encode(hashlib.sha256(data).digest())


def _verify_issuer_jwt(issuer_jwt: str, issuer_keys: KeySet) -> dict:
    header = _header(issuer_jwt, "issuer-signed JWT")
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
    return _json_object(signed.payload, "issuer-signed JWT payload")


def _check_credential_claims(payload: dict, expected_issuer: str, now: int) -> None:
    if payload.get("iss") != expected_issuer:
        raise SdJwtError(f"issuer {payload.get('iss')!r} is not the expected {expected_issuer!r}")
    expires = payload.get("exp")
    if not _is_int(expires):
        raise SdJwtError("the credential has no numeric exp")
    if now >= expires + CLOCK_LEEWAY_SECONDS:
        raise SdJwtError(f"the credential expired at {expires}")
    for claim in ("iat", "nbf"):
        if claim in payload and (not _is_int(payload[claim]) or payload[claim] > now + CLOCK_LEEWAY_SECONDS):
            raise SdJwtError(f"the credential's {claim} is not a time in the past")
    if payload.get("_sd_alg", DIGEST_ALGORITHM) != DIGEST_ALGORITHM:
        raise SdJwtError(f"_sd_alg {payload.get('_sd_alg')!r} is not supported, only {DIGEST_ALGORITHM!r}")
    cnf = payload.get("cnf")
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict):
        raise SdJwtError("the credential names no holder key (cnf.jwk)")


def _apply_disclosures(payload: dict, disclosures: list[str]) -> dict:
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
        name, value = _decode_disclosure(disclosure)
        if name in claims:
            raise SdJwtError(f"disclosure {digest} names claim {name!r}, which is already present")
        _refuse_nested_disclosures([value])
        claims[name] = value
    return claims


def _verify_key_binding(
    key_binding: str, holder_jwk: dict, presented: str, audience: str, nonce: str, now: int, max_age: int
) -> None:
    header = _header(key_binding, "key binding JWT")
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
    claims = _json_object(signed.payload, "key binding JWT payload")
    if claims.get("aud") != audience:
        raise SdJwtError(f"key binding JWT: audience {claims.get('aud')!r} is not {audience!r}")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise SdJwtError("key binding JWT: nonce does not match this request")
    issued_at = claims.get("iat")
    if not _is_int(issued_at):
        raise SdJwtError("key binding JWT: no numeric iat")
    if issued_at > now + CLOCK_LEEWAY_SECONDS:
        raise SdJwtError(f"key binding JWT: iat {issued_at} is in the future")
    if now - issued_at > max_age:
        raise SdJwtError(f"key binding JWT: made {now - issued_at}s ago, more than {max_age}s")
    sd_hash = claims.get("sd_hash")
    if not isinstance(sd_hash, str) or not hmac.compare_digest(sd_hash, digest_of(presented)):
        raise SdJwtError("key binding JWT: sd_hash does not match the presented SD-JWT and disclosures")


def _split(value: str) -> tuple[str, list[str], str]:
    """``<issuer-jwt>~<disclosure>~...~[<kb-jwt>]`` into its parts; refuses empty disclosures."""
    if not isinstance(value, str) or SEPARATOR not in value:
        raise SdJwtError("not an SD-JWT: no '~' separator")
    issuer_jwt, *disclosures, key_binding = value.split(SEPARATOR)
    if not issuer_jwt:
        raise SdJwtError("not an SD-JWT: no issuer-signed JWT")
    if any(not disclosure for disclosure in disclosures):
        raise SdJwtError("not an SD-JWT: empty disclosure")
    return issuer_jwt, disclosures, key_binding


def _header(compact: str, what: str) -> dict:
    try:
        return jws.extract_compact(compact.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeEncodeError) as error:
        raise SdJwtError(f"{what}: not a compact JWS") from error


def _unverified_payload(issuer_jwt: str) -> dict:
    try:
        payload = jws.extract_compact(issuer_jwt.encode("ascii")).payload
    except (JoseError, ValueError, UnicodeEncodeError) as error:
        raise SdJwtError("issuer-signed JWT: not a compact JWS") from error
    return _json_object(payload, "issuer-signed JWT payload")


def _encode_disclosure(salt: str, name: str, value: Any) -> str:
    return _b64encode(_json([salt, name, value]))


def _decode_disclosure(disclosure: str) -> tuple[str, Any]:
    """A disclosure's claim name and value; only object-property disclosures exist in an ID card."""
    if not _BASE64URL.fullmatch(disclosure):
        raise SdJwtError("disclosure is not base64url")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
    except (binascii.Error, ValueError) as error:
        raise SdJwtError("disclosure is not base64url-encoded JSON") from error
    if not (isinstance(decoded, list) and len(decoded) == 3 and all(isinstance(part, str) for part in decoded[:2])):
        raise SdJwtError("disclosure is not a [salt, claim name, value] array")
    _, name, value = decoded
    if name in ("_sd", "..."):
        raise SdJwtError(f"disclosure names the reserved claim {name!r}")
    return name, value


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


def _public_holder_jwk(jwk: dict) -> dict:
    """Only the public P-256 coordinates go into ``cnf``: never ``d``, even if a caller passes it."""
    try:
        key = ECKey.import_key({name: jwk[name] for name in ("kty", "crv", "x", "y")})
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise SdJwtError("holder_public_jwk is not an EC public key") from error
    if key.as_dict()["crv"] != "P-256":
        raise SdJwtError("the holder key must be P-256, to sign ES256 key binding JWTs")
    return {name: jwk[name] for name in ("kty", "crv", "x", "y")}


def _thumbprint(jwk: dict) -> str | None:
    try:
        return ECKey.import_key(jwk).thumbprint()
    except (JoseError, ValueError, TypeError, KeyError):
        return None


def _json_object(data: bytes, what: str) -> dict:
    try:
        value = json.loads(data)
    except ValueError as error:
        raise SdJwtError(f"{what} is not JSON") from error
    if not isinstance(value, dict):
        raise SdJwtError(f"{what} is not a JSON object")
    return value


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _salt() -> str:
    return _b64encode(secrets.token_bytes(SALT_BYTES))


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else now
