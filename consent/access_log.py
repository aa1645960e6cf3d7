"""The citizen's access log ("who looked at my data"): their ledger entries, each provably in the log.

The public log shows only commitments (``consent.commitments``); here, and only to the citizen the
entries are about, each comes with its opening — the clear entry and its salt — so her app can
recompute the public leaf and check its inclusion proof against the signed tree head
(``consent.verify.own_entry_is_logged``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from consent.ledger import Ledger
from consent.models import LedgerEntry
from consent.tree_heads import TreeHead, TreeHeadSigner, b64


class AccessLogEntry(BaseModel):
    index: int
    entry: dict[str, Any] = Field(description="The ledger entry in clear, decoded")
    clear: str = Field(description="The clear entry's exact bytes, base64")
    salt: str = Field(description="The entry's salt, base64: HMAC-SHA256(salt, clear) is the leaf's commitment")
    leaf: str = Field(description="The public leaf's exact bytes, base64: hash these to check the proof")
    inclusion_path: list[str] = Field(description="RFC 9162 audit path to the tree head's root, base64 hashes")


class AccessLog(BaseModel):
    tree_head: TreeHead
    entries: list[AccessLogEntry]


def access_log(
    ledger: Ledger,
    tree_heads: TreeHeadSigner,
    citizen_key: str,
    *,
    since: datetime | None,
    until: datetime | None,
    recipient: str | None,
    limit: int,
) -> AccessLog:
    head = tree_heads.head(ledger)
    size = head.tree_size
    rows = ledger.entries_of(citizen_key, since=since, until=until, recipient=recipient, limit=limit)
    return AccessLog(
        tree_head=head,
        entries=[_opened(row, ledger.inclusion_proof(row.index, size)) for row in rows if row.index < size],
    )


def _opened(row: LedgerEntry, inclusion_path: list[bytes]) -> AccessLogEntry:
    # a citizen's entries are events (LedgerTransaction.append_event): each has its clear form and salt
    assert row.clear is not None and row.salt is not None
    return AccessLogEntry(
        index=row.index,
        entry=json.loads(row.clear),
        clear=b64(row.clear),
        salt=b64(row.salt),
        leaf=b64(row.entry),
        inclusion_path=[b64(h) for h in inclusion_path],
    )
