"""The SD-JWT format (RFC 9901) as the ID card uses it: its parts, its disclosures, its digests,
and the one error every role raises. Shared by the issuer, the holder and the verifier."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import time
from typing import Any, TypeGuard

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

SD_JWT_TYPE = "dc+sd-jwt"
KB_JWT_TYPE = "kb+jwt"
DIGEST_ALGORITHM = "sha-256"
SEPARATOR = "~"
SALT_BYTES = 16
# Claims that hold the credential's own machinery: never taken from ``claims``, never disclosable.
RESERVED_CLAIMS = frozenset({"iss", "iat", "exp", "nbf", "vct", "cnf", "_sd", "_sd_alg", "..."})

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class SdJwtError(ValueError):
    """An SD-JWT or presentation that must not be issued, presented or accepted; says why."""


def digest_of(disclosure_or_presentation: str) -> str:
    """base64url(SHA-256) over the ASCII text, as both ``_sd`` digests and ``sd_hash`` are taken."""
    try:
        data = disclosure_or_presentation.encode("ascii")
    except UnicodeEncodeError as error:
        raise SdJwtError("an SD-JWT is ASCII text") from error
    return b64encode(hashlib.sha256(data).digest())


def split_parts(value: str) -> tuple[str, list[str], str]:
    """``<issuer-jwt>~<disclosure>~...~[<kb-jwt>]`` into its parts; refuses empty disclosures."""
    if not isinstance(value, str) or SEPARATOR not in value:
        raise SdJwtError("not an SD-JWT: no '~' separator")
    issuer_jwt, *disclosures, key_binding = value.split(SEPARATOR)
    if not issuer_jwt:
        raise SdJwtError("not an SD-JWT: no issuer-signed JWT")
    if any(not disclosure for disclosure in disclosures):
        raise SdJwtError("not an SD-JWT: empty disclosure")
    return issuer_jwt, disclosures, key_binding


def jws_header(compact: str, what: str) -> dict[str, Any]:
    try:
        return jws.extract_compact(compact.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeEncodeError) as error:
        raise SdJwtError(f"{what}: not a compact JWS") from error


def unverified_payload(issuer_jwt: str) -> dict[str, Any]:
    try:
        payload = jws.extract_compact(issuer_jwt.encode("ascii")).payload
    except (JoseError, ValueError, UnicodeEncodeError) as error:
        raise SdJwtError("issuer-signed JWT: not a compact JWS") from error
    return json_object(payload, "issuer-signed JWT payload")


def encode_disclosure(salt: str, name: str, value: Any) -> str:
    return b64encode(compact_json([salt, name, value]))


def decode_disclosure(disclosure: str) -> tuple[str, Any]:
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


def thumbprint(jwk: dict[str, Any]) -> str | None:
    try:
        return ECKey.import_key(jwk).thumbprint()
    except (JoseError, ValueError, TypeError, KeyError):
        return None


def json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as error:
        raise SdJwtError(f"{what} is not JSON") from error
    if not isinstance(value, dict):
        raise SdJwtError(f"{what} is not a JSON object")
    return value


def compact_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_salt() -> str:
    return b64encode(secrets.token_bytes(SALT_BYTES))


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def seconds_now(now: int | None) -> int:
    return int(time.time()) if now is None else now
