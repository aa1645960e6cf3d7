"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): the second factor for eIDAS "substantial".

Level of assurance "substantial" asks for at least two authentication factors of different
categories (Implementing Regulation (EU) 2015/1502, annex 2.2.1): the password is knowledge, a
code from an authenticator app shows possession. HMAC-SHA1, 30-second steps
from the Unix epoch and 6 digits are the defaults every authenticator app uses.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

DIGITS = 6
STEP_SECONDS = 30


def _hotp(secret: bytes, counter: int, digits: int) -> str:
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F  # RFC 4226 §5.3 dynamic truncation
    code = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def _check_digits(digits: int) -> None:
    if not 1 <= digits <= 9:  # 31 bits of truncated HMAC give at most 9 full digits
        raise ValueError(f"a TOTP code has 1 to 9 digits, got {digits}")


def _time_step(at: float, step: int) -> int:
    if at < 0:
        raise ValueError(f"TOTP counts from the Unix epoch; {at} is before it")
    if step <= 0:
        raise ValueError(f"the time step must be positive, got {step}")
    return int(at // step)


def totp(secret: bytes, at: float, digits: int = DIGITS, step: int = STEP_SECONDS) -> str:
    """The code for Unix time ``at``, zero-padded to ``digits``."""
    _check_digits(digits)
    return _hotp(secret, _time_step(at, step), digits)


def matching_step(
    secret: bytes, code: str, at: float, window: int = 1, *, digits: int = DIGITS, step: int = STEP_SECONDS
) -> int | None:
    """The time step within ±``window`` of ``at`` whose code is ``code``, or None.

    The window absorbs clock drift and the seconds a person needs to type. A caller that wants
    RFC 6238 §5.2's replay protection remembers the last step it accepted for a person and
    refuses steps not after it; hence the step, not just a yes or no.
    """
    if window < 0:
        raise ValueError(f"the window is a number of steps either side, got {window}")
    _check_digits(digits)
    if len(code) != digits or not (code.isascii() and code.isdigit()):
        return None
    current = _time_step(at, step)
    found = None
    # Every candidate is compared, in constant time, so timing says nothing about which matched.
    for candidate in range(max(current - window, 0), current + window + 1):
        if hmac.compare_digest(_hotp(secret, candidate, digits), code) and found is None:
            found = candidate
    return found


def verify_totp(
    secret: bytes, code: str, at: float, window: int = 1, *, digits: int = DIGITS, step: int = STEP_SECONDS
) -> bool:
    """Whether ``code`` is the code of a time step within ±``window`` steps of ``at``."""
    return matching_step(secret, code, at, window, digits=digits, step=step) is not None
