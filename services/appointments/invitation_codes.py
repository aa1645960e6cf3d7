"""A marriage booking's one-time invitation code: shown once to the booker, stored only as a digest,
void after ``MAX_CODE_ATTEMPTS`` wrong tries (services/appointments/confirmations.py)."""

from __future__ import annotations

import hashlib
import secrets

MAX_CODE_ATTEMPTS = 5  # wrong invitation codes before the code is void (the booking then lapses)
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread
CODE_LENGTH = 12  # 60 bits, shown as XXXX-XXXX-XXXX


def new_invitation_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def code_digest(code: str) -> str:
    """Only this digest is stored. Dashes, spaces and case do not matter, nor O/0 and I/L/1 confusions."""
    normalised = code.upper().replace("-", "").replace(" ", "").replace("O", "0").replace("I", "1").replace("L", "1")
    return hashlib.sha256(normalised.encode()).hexdigest()
