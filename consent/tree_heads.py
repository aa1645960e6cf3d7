"""Signed tree heads (RFC 9162 §4.10 in JSON): the log operator's commitment to one tree.

Anyone holding the consent service's published key can check a tree head offline; a saved head
later proves what the log contained, whatever the operator has done to the database since.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from pydantic import BaseModel, Field

from consent.receipts import canonical
from kernel.keys import SIGNING_ALGORITHM

if TYPE_CHECKING:  # the signer reads a ledger; whoever only checks tree heads (consent.verify) needs no database
    from consent.ledger import Ledger

TREE_HEAD_TYPE = "tree-head+jws"


class InvalidTreeHead(ValueError):
    pass


class TreeHead(BaseModel):
    log_id: str = Field(description="The log: the consent service's public URL")
    tree_size: int = Field(ge=0)
    timestamp: int = Field(description="Milliseconds since the Unix epoch")
    root_hash: str = Field(description="Base64 SHA-256 Merkle tree hash (RFC 9162 §2.1.1)")
    signature: str = Field(
        description="Compact JWS (ES256, typ tree-head+jws) over the other four members as RFC 8785 canonical JSON"
    )


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def unb64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def sign_tree_head(
    key: ECKey, *, log_id: str, tree_size: int, root_hash: bytes, timestamp_ms: int | None = None
) -> TreeHead:
    body = {
        "log_id": log_id,
        "tree_size": tree_size,
        "root_hash": b64(root_hash),
        "timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
    }
    key.ensure_kid()
    signature = jws.serialize_compact(
        {"alg": SIGNING_ALGORITHM, "typ": TREE_HEAD_TYPE, "kid": key.kid}, canonical(body), key
    )
    return TreeHead(**body, signature=signature)


class TreeHeadSigner:
    """Signs the log's current head, re-using the last signature while the tree has not grown
    (for at most ``max_age_ms``): polling auditors then cost a size lookup, not a signature."""

    def __init__(self, key: ECKey, log_id: str, *, max_age_ms: int = 60_000) -> None:
        self.key = key
        self.log_id = log_id
        self.max_age_ms = max_age_ms
        self._last: TreeHead | None = None

    def head(self, ledger: Ledger) -> TreeHead:
        size = ledger.size()
        last = self._last
        if last is not None and last.tree_size == size and time.time() * 1000 - last.timestamp < self.max_age_ms:
            return last
        self._last = sign_tree_head(self.key, log_id=self.log_id, tree_size=size, root_hash=ledger.root(size))
        return self._last


def verify_tree_head(head: dict[str, Any], keys: KeySet) -> TreeHead:
    """``head`` as a checked TreeHead, or InvalidTreeHead: signature, type, and every member signed."""
    try:
        parsed = TreeHead.model_validate(head)
        header = jws.extract_compact(parsed.signature.encode("ascii")).headers()
        if header.get("alg") != SIGNING_ALGORITHM or header.get("typ") != TREE_HEAD_TYPE:
            raise InvalidTreeHead("not a tree head signature (alg/typ)")
        payload = jws.deserialize_compact(parsed.signature, keys, algorithms=[SIGNING_ALGORITHM]).payload
        signed = json.loads(payload)
    except InvalidTreeHead:
        raise
    except (JoseError, ValueError, UnicodeEncodeError) as error:
        raise InvalidTreeHead(f"the tree head does not verify: {error}") from error
    members = parsed.model_dump(exclude={"signature"})
    if signed != members or canonical(signed) != payload:
        raise InvalidTreeHead("the tree head's members differ from what was signed")
    return parsed
