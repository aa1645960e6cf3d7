"""``citygate ledger verify``: audit the whole transparency ledger with nothing but HTTP and the key.

1. Check the signed tree head (fetched, or one saved earlier with ``citygate ledger tree-head``).
2. Download every entry, hash it as RFC 9162 says and recompute the root independently.
3. If the root differs, find the first entry that does not match by bisection: for a prefix size
   k the log's own root at k is trusted only once a consistency proof ties it to the signed
   head; the smallest k whose downloaded prefix disagrees names entry k-1. If no such proof
   holds, the stored tree itself was rewritten, and that is what is reported.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import KeySet

from consent.commitments import opens
from consent.merkle import StreamingRoot, leaf_hash, verify_consistency, verify_inclusion
from consent.tree_heads import InvalidTreeHead, TreeHead, unb64, verify_tree_head
from kernel.client import JWKS_PATH

PAGE = 1000


@dataclass(frozen=True)
class Report:
    ok: bool
    tree_size: int
    message: str
    first_bad_index: int | None = None


class LedgerAuditor:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        jwks: dict[str, Any] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.http = http
        self._jwks = jwks
        self._progress = progress or (lambda done, total: None)

    async def _get(self, path: str, **params: int) -> dict[str, Any]:
        response = await self.http.get(path, params=params or None)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def keys(self) -> KeySet:
        if self._jwks is None:
            self._jwks = await self._get(JWKS_PATH)
        return KeySet.import_key_set({"keys": self._jwks["keys"]})

    async def current_head(self) -> TreeHead:
        return verify_tree_head(await self._get("/ledger/tree-head"), await self.keys())

    async def consistent(self, older: TreeHead, newer: TreeHead) -> bool:
        """Whether ``newer`` extends ``older`` (RFC 9162 §2.1.4.2), by the log's own proof."""
        if older.tree_size == 0 or older.tree_size == newer.tree_size:
            return older.tree_size == 0 or older.root_hash == newer.root_hash
        proof = await self._get("/ledger/consistency-proof", first=older.tree_size, second=newer.tree_size)
        return verify_consistency(
            older.tree_size,
            newer.tree_size,
            unb64(older.root_hash),
            unb64(newer.root_hash),
            [unb64(h) for h in proof["consistency_path"]],
        )

    async def verify(self, tree_head: dict[str, Any] | None = None) -> Report:
        try:
            head = (
                verify_tree_head(tree_head, await self.keys()) if tree_head is not None else await self.current_head()
            )
        except InvalidTreeHead as error:
            return Report(False, 0, f"the tree head is not valid: {error}")
        size, signed_root = head.tree_size, unb64(head.root_hash)
        leaf_hashes = bytearray()
        stream = StreamingRoot()
        for start in range(0, size, PAGE):
            page = (await self._get("/ledger/entries", start=start, end=min(size, start + PAGE)))["entries"]
            for offset, row in enumerate(page):
                if row["index"] != start + offset:
                    return Report(
                        False,
                        size,
                        f"the log served entry {row['index']} where {start + offset} belongs",
                        start + offset,
                    )
                digest = leaf_hash(base64.b64decode(row["entry"]))
                stream.add_leaf_hash(digest)
                leaf_hashes += digest
            if stream.size < min(size, start + PAGE):
                return Report(
                    False, size, f"the log serves only {stream.size} of the {size} signed entries", stream.size
                )
            self._progress(stream.size, size)
        if stream.root() == signed_root:
            return Report(True, size, f"all {size} entries match the signed tree head")
        return await self._first_mismatch(head, signed_root, leaf_hashes)

    async def _first_mismatch(self, head: TreeHead, signed_root: bytes, leaf_hashes: bytearray) -> Report:
        good, bad = 0, head.tree_size  # the empty prefix matches; the whole log does not
        while bad - good > 1:
            middle = (good + bad) // 2
            logged = unb64((await self._get(f"/ledger/roots/{middle}"))["root_hash"])
            proof = await self._get("/ledger/consistency-proof", first=middle, second=head.tree_size)
            if not verify_consistency(
                middle, head.tree_size, logged, signed_root, [unb64(h) for h in proof["consistency_path"]]
            ):
                return Report(
                    False,
                    head.tree_size,
                    "the log's stored tree is not consistent with the signed tree head: its history has been rewritten",
                )
            if _prefix_root(leaf_hashes, middle) == logged:
                good = middle
            else:
                bad = middle
        return Report(False, head.tree_size, f"entry {bad - 1} does not match the signed tree head", bad - 1)


def own_entry_is_logged(entry: dict[str, Any], head: TreeHead) -> bool:
    """What the citizen's app checks for each line of ``/me/access-log``, trusting only the signed head:
    the clear entry and salt open the public leaf's commitment, and that leaf is in the signed tree."""
    try:
        leaf, clear, salt = unb64(entry["leaf"]), unb64(entry["clear"]), unb64(entry["salt"])
        path = [unb64(h) for h in entry["inclusion_path"]]
        return (
            opens(leaf, clear, salt)
            and json.loads(clear) == entry["entry"]
            and verify_inclusion(leaf_hash(leaf), entry["index"], head.tree_size, path, unb64(head.root_hash))
        )
    except (KeyError, TypeError, ValueError):
        return False


def _prefix_root(leaf_hashes: bytearray, size: int) -> bytes:
    stream = StreamingRoot()
    for start in range(0, size * 32, 32):
        stream.add_leaf_hash(bytes(leaf_hashes[start : start + 32]))
    return stream.root()


def read_json(path: str | None) -> dict[str, Any] | None:
    return json.loads(Path(path).read_text()) if path else None


async def run(
    url: str,
    *,
    saved: dict[str, Any] | None = None,
    jwks: dict[str, Any] | None = None,
    quiet: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """The command: verify, print the verdict, return the exit status (0 all good, 1 otherwise).
    It is ``citygate ledger verify``: what it prints is its output, hence its prints."""

    def progress(done: int, total: int) -> None:
        if not quiet:
            print(f"\r  checked {done:,} of {total:,} entries", end="", flush=True)  # noqa: T201

    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as http:
        auditor = LedgerAuditor(http, jwks=jwks, progress=progress)
        report = await auditor.verify(saved)
        if not quiet:
            print()  # noqa: T201
        print(("OK: " if report.ok else "FAILED: ") + report.message)  # noqa: T201
        if report.ok and saved is not None:
            current = await auditor.current_head()
            extends = await auditor.consistent(verify_tree_head(saved, await auditor.keys()), current)
            print(  # noqa: T201
                f"{'OK' if extends else 'FAILED'}: the current tree ({current.tree_size} entries) "
                f"{'extends' if extends else 'does NOT extend'} the saved one"
            )
            return 0 if extends else 1
    return 0 if report.ok else 1
