"""The citizen's access log ("who looked at my data"): their ledger entries, each provably in the log."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, Field

from consent.artefacts import ConsentBook
from consent.tree_heads import TreeHead, TreeHeadSigner, b64


class AccessLogEntry(BaseModel):
    index: int
    entry: dict = Field(description="The ledger entry, decoded")
    leaf: str = Field(description="The entry's exact bytes, base64: hash these to check the proof")
    inclusion_path: list[str] = Field(description="RFC 9162 audit path to the tree head's root, base64 hashes")


class AccessLog(BaseModel):
    tree_head: TreeHead
    entries: list[AccessLogEntry]


def access_log(book: ConsentBook, tree_heads: TreeHeadSigner, citizen_key: str, *, since: datetime | None,
               until: datetime | None, recipient: str | None, limit: int) -> AccessLog:
    ledger = book.ledger
    head = tree_heads.head(ledger)
    size = head.tree_size
    rows = ledger.entries_of(citizen_key, since=since, until=until, recipient=recipient, limit=limit)
    return AccessLog(tree_head=head, entries=[
        AccessLogEntry(index=row.index, entry=json.loads(row.entry), leaf=b64(row.entry),
                       inclusion_path=[b64(h) for h in ledger.inclusion_proof(row.index, size)])
        for row in rows if row.index < size
    ])
