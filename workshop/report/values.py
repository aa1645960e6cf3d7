"""One stored value as the auditor reads it: every piece of text in it, whatever wraps it.

A column may hold plain text, JSON (the gateway's journey events, the consent ledger's events),
bytes (a pod's Turtle, a ledger entry), a signed token (JWS: signed, not secret — its payload is
base64url that anyone decodes), an SD-JWT with its disclosures (each base64url JSON), or a sealed
one (JWE: readable only with a key the database does not hold). ``flatten`` opens every wrapper
that needs no key and keeps what is left: text leaves (with the column path they came from),
timestamps, amounts, and how many sealed values it could not open.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

# Column or JSON member names whose numbers are money (fen): ``amount_cents``, ``balance_cents``.
AMOUNT_NAME = re.compile(r"amount|cents", re.IGNORECASE)
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
COMPACT_PART = re.compile(r"[A-Za-z0-9_-]*")
# Bounds against stored values built to make the reader work: nesting and pieces per value.
MAX_DEPTH = 12
MAX_LEAVES_PER_VALUE = 5000


@dataclass
class Flattened:
    leaves: list[tuple[str, str]] = field(default_factory=list)  # (column path, text)
    timestamps: list[datetime] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    sealed: list[str] = field(default_factory=list)  # column paths of values only a key opens


def flatten(column: str, value: object, into: Flattened) -> None:
    """Add what ``value`` (stored in ``column``) holds to ``into``."""
    _walk(column, value, into, 0, [0])


def _walk(path: str, value: object, into: Flattened, depth: int, budget: list[int]) -> None:
    if value is None or isinstance(value, bool) or depth > MAX_DEPTH or budget[0] >= MAX_LEAVES_PER_VALUE:
        return
    budget[0] += 1
    if isinstance(value, int | float | Decimal):
        if AMOUNT_NAME.search(path.rsplit(".", 1)[-1]) and value == int(value):
            into.amounts.append(int(value))
        return
    if isinstance(value, datetime):
        into.timestamps.append(as_utc(value))
        return
    if isinstance(value, date):
        into.leaves.append((path, value.isoformat()))
        return
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return  # a hash or a salt: no text in it
    if isinstance(value, dict):
        for key, member in value.items():
            _walk(f"{path}.{key}", member, into, depth + 1, budget)
        return
    if isinstance(value, list | tuple):
        for member in value:
            _walk(path, member, into, depth + 1, budget)
        return
    if isinstance(value, str):
        _text(path, value, into, depth, budget)


def _text(path: str, text: str, into: Flattened, depth: int, budget: list[int]) -> None:
    stripped = text.strip()
    if not stripped:
        return
    if stripped[0] in "[{":
        try:
            parsed = json.loads(stripped)
        except ValueError:
            pass
        else:
            _walk(path, parsed, into, depth + 1, budget)
            return
    parts = stripped.split(".")
    if len(parts) in (3, 5) and all(COMPACT_PART.fullmatch(part) for part in parts):
        header = _json_of(parts[0])
        if isinstance(header, dict) and len(parts) == 5 and "enc" in header:
            into.sealed.append(path)  # JWE: the key that opens it is not in this database
            return
        if isinstance(header, dict) and len(parts) == 3 and "alg" in header:
            into.leaves.append((path, stripped))  # the token itself, an identifier of its own
            _walk(f"{path}#payload", _json_of(parts[1]), into, depth + 1, budget)
            return
    if "~" in stripped and "." in stripped.split("~", 1)[0]:
        pieces = stripped.split("~")
        if all(COMPACT_PART.fullmatch(piece) for piece in pieces[1:]):  # SD-JWT: JWS~disclosure~...~
            _text(path, pieces[0], into, depth + 1, budget)
            for piece in pieces[1:]:
                if piece:
                    _walk(f"{path}#disclosure", _json_of(piece), into, depth + 1, budget)
            return
    into.leaves.append((path, stripped))
    if ISO_TIMESTAMP.match(stripped):
        moment = _timestamp(stripped)
        if moment is not None:
            into.timestamps.append(moment)


def _json_of(part: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None


def _timestamp(text: str) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def as_utc(moment: datetime) -> datetime:
    """Services store UTC; SQLite hands it back without its zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
