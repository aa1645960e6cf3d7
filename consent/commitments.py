"""What the public ledger shows of an event: a hiding, binding commitment to it, and nothing else.

The ledger is public so that anyone can check it is append-only; its events are about citizens, so
the public must not read them. Each leaf is therefore RFC 8785 JSON ``{"v": 2, "commitment": c}``
with ``c = HMAC-SHA256(salt, clear entry)`` and a fresh 32-byte random ``salt`` per entry. The
clear entry and its salt (the "opening") stay in the consent service's database and go only to the
citizen the entry is about (``/me/access-log``), who recomputes the leaf and checks its inclusion.

Hiding: without the salt, a leaf says nothing about the entry — not its kind, its sector, its
pseudonym or resource; a guess of the whole clear entry cannot be tested. Binding: the operator
cannot later show the citizen another entry for the same leaf without an HMAC-SHA256 collision.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import rfc8785

LEAF_VERSION = 2
SALT_BYTES = 32


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def commitment(salt: bytes, clear: bytes) -> bytes:
    return hmac.new(salt, clear, hashlib.sha256).digest()


def public_leaf(salt: bytes, clear: bytes) -> bytes:
    """The leaf the Merkle tree commits to, and all that ``GET /ledger/entries`` serves."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"a salt is {SALT_BYTES} random bytes")
    return rfc8785.dumps({"v": LEAF_VERSION, "commitment": base64.b64encode(commitment(salt, clear)).decode()})


def opens(leaf: bytes, clear: bytes, salt: bytes) -> bool:
    """Whether ``clear`` with ``salt`` is what the public ``leaf`` commits to."""
    return len(salt) == SALT_BYTES and hmac.compare_digest(leaf, public_leaf(salt, clear))
