"""Pairwise subject identifiers (OpenID Connect Core 1.0 §8.1): one pseudonym per citizen per sector.

In the platform regime every service sees the resident identity number, so any two of them can
join their records on it. In the rights regime the identity provider gives each sector its own
``sub`` for the same person: stable within the sector (its clients can keep records), different
across sectors (transport and health cannot join on it), and not reversible by anyone who lacks
the provider's secret.

Why HMAC with a provider secret and not a bare hash such as SHA-256(sector + resident ID), which
is also stable and sector-specific? Because resident IDs have little entropy: a 6-digit address
code from a public list, a birth date within about a century, a 3-digit sequence and a check
character that adds nothing, some 10^11 candidates per sector, or far fewer once a birth year or
district is known. Anyone holding a bare-hash pseudonym could enumerate them in hours and
recover the ID, and with it every other sector's pseudonym. With a keyed HMAC the enumeration
needs the secret, which never leaves the identity provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from enum import StrEnum
from pathlib import Path

from kernel.keys import write_once

# Below 128 bits the secret, not the resident ID, would become the guessable part.
MINIMUM_SECRET_BYTES = 16
# where the provider keeps its secret, in its keys directory
PAIRWISE_SECRET_FILE = "pairwise-secret"


class Sector(StrEnum):
    """The sector identifiers: all clients of one sector share a pseudonym for a citizen."""

    TRANSPORT = "transport"
    CIVIL_REGISTRY = "civil-registry"
    HEALTH = "health"
    PLATFORM = "platform"
    CONSENT = "consent"  # the consent ledger, the citizen's transparency service
    PERSONAL_DATA = "personal-data"  # the citizen's personal data pod


def pairwise_subject(secret: bytes, sector: str, local_subject: str) -> str:
    """The ``sub`` for ``local_subject`` (the provider's own identifier) as seen by ``sector``.

    base64url without padding of HMAC-SHA256(secret, sector NUL local_subject). The NUL keeps the
    two parts apart, so ("ab", "c") and ("a", "bc") cannot collide; a sector may therefore not
    contain one.
    """
    if len(secret) < MINIMUM_SECRET_BYTES:
        raise ValueError(f"the pairwise secret must have at least {MINIMUM_SECRET_BYTES} bytes, got {len(secret)}")
    if not sector or "\0" in sector:
        raise ValueError(f"a sector identifier is a non-empty string without NUL, got {sector!r}")
    message = sector.encode() + b"\0" + local_subject.encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """Load the provider's pairwise secret, or create it exactly once even if two processes start together.

    Written like the signing key (``kernel.keys``): under a temporary name, mode 0600, then linked
    into place, so no reader sees a partial secret and the loser of a race adopts the winner's.
    Losing this file changes every pseudonym the provider has issued; leaking it makes them
    joinable again.
    """
    if nbytes < MINIMUM_SECRET_BYTES:
        raise ValueError(f"the pairwise secret must have at least {MINIMUM_SECRET_BYTES} bytes, got {nbytes}")
    write_once(path, secrets.token_bytes(nbytes))
    secret = path.read_bytes()
    if len(secret) < MINIMUM_SECRET_BYTES:
        raise ValueError(f"{path} holds {len(secret)} bytes, too few for a pairwise secret")
    return secret
