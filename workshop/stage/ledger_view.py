"""The ledger inspector's checks, done by the stage as any auditor would: over the consent service's
public ledger API (``consent/ledger_routes.py``) with the checks of ``citygate ledger verify``
(``consent.verify.LedgerAuditor``) and the proofs of ``consent.merkle``.

The tamper demo never writes to the service: the stage reads the log through ``TamperedCopy``, a
transport that changes one entry in the stage's own in-memory copy of each answer, and runs the same
audit over it; the signed tree head no longer matches, and the audit says which entry is wrong.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from consent.merkle import leaf_hash, verify_consistency, verify_inclusion
from consent.tree_heads import InvalidTreeHead, TreeHead, unb64, verify_tree_head
from consent.verify import LedgerAuditor, Report
from kernel.client import upstream_unavailable
from workshop.stage.errors import IndexBeyondTreeSize, InvalidRange

ENTRIES_PER_PAGE = 20
CALLEE = "consent"


@dataclass(frozen=True)
class SignedHead:
    head: TreeHead | None  # None: the signature did not verify
    raw: dict[str, Any]
    problem: str | None

    @property
    def when(self) -> str:
        timestamp = self.raw.get("timestamp")
        if not isinstance(timestamp, int):
            return "?"
        return datetime.fromtimestamp(timestamp / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Entry:
    index: int
    text: str  # the leaf's bytes as text (RFC 8785 JSON of a commitment), for showing only


@dataclass(frozen=True)
class ProofCheck:
    title: str
    ok: bool
    path: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class TamperDemo:
    index: int
    original: str
    tampered: str
    honest: Report
    copy: Report
    inclusion: ProofCheck


class Ledger:
    """One auditor's view of the consent ledger at ``http``'s base URL."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def _get(self, path: str, **params: int) -> dict[str, Any]:
        try:
            response = await self.http.get(path, params=params or None)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise upstream_unavailable(CALLEE, error) from error
        body: dict[str, Any] = response.json()
        return body

    async def signed_head(self) -> SignedHead:
        raw = await self._get("/ledger/tree-head")
        auditor = LedgerAuditor(self.http, jwks=await self._get("/.well-known/jwks.json"))
        try:
            return SignedHead(verify_tree_head(raw, await auditor.keys()), raw, None)
        except InvalidTreeHead as error:
            return SignedHead(None, raw, str(error))

    async def entries(self, start: int, end: int) -> list[Entry]:
        if start >= end:
            return []
        rows = (await self._get("/ledger/entries", start=start, end=end))["entries"]
        return [Entry(row["index"], _text(base64.b64decode(row["entry"]))) for row in rows]

    async def entry_bytes(self, index: int) -> bytes:
        rows = (await self._get("/ledger/entries", start=index, end=index + 1))["entries"]
        return base64.b64decode(rows[0]["entry"])

    async def inclusion(self, head: TreeHead, index: int, entry: bytes | None = None) -> ProofCheck:
        """Entry ``index`` (or ``entry`` in its place) is in the signed tree: RFC 9162 §2.1.3.2."""
        within(index, head.tree_size, "entry")
        entry = entry if entry is not None else await self.entry_bytes(index)
        proof = await self._get("/ledger/inclusion-proof", leaf_index=index, tree_size=head.tree_size)
        path = [unb64(node) for node in proof["inclusion_path"]]
        ok = verify_inclusion(leaf_hash(entry), index, head.tree_size, path, unb64(head.root_hash))
        verdict = "is" if ok else "is NOT"
        return ProofCheck(
            f"Entry {index} in the signed tree of {head.tree_size}",
            ok,
            tuple(proof["inclusion_path"]),
            f"the entry's leaf hash, folded with the {len(path)} hashes of the audit path, {verdict} the signed root",
        )

    async def consistency(self, head: TreeHead, first: int, second: int) -> ProofCheck:
        """The tree of ``first`` entries is a prefix of the tree of ``second``: RFC 9162 §2.1.4.2; the
        larger root is the signed one when ``second`` is the signed size (else the log's own, unsigned)."""
        if not 0 < first <= second:
            raise InvalidRange("The first size must be at least 1 and not exceed the second.")
        if second > head.tree_size:
            raise IndexBeyondTreeSize(
                f"The signed tree has {head.tree_size} entries; {second} is beyond it.", tree_size=head.tree_size
            )
        first_root = unb64((await self._get(f"/ledger/roots/{first}"))["root_hash"])
        signed = second == head.tree_size
        second_root = (
            unb64(head.root_hash) if signed else unb64((await self._get(f"/ledger/roots/{second}"))["root_hash"])
        )
        proof = await self._get("/ledger/consistency-proof", first=first, second=second)
        path = [unb64(node) for node in proof["consistency_path"]]
        ok = verify_consistency(first, second, first_root, second_root, path)
        against = "the signed root" if signed else "the log's root at that size (unsigned)"
        return ProofCheck(
            f"The tree of {first} is a prefix of the tree of {second}",
            ok,
            tuple(proof["consistency_path"]),
            f"the {len(path)} hashes of the proof rebuild both roots, checked against {against}: "
            + ("consistent" if ok else "NOT consistent"),
        )

    async def tamper_demo(
        self, head: TreeHead, raw: dict[str, Any], index: int, transport: httpx.AsyncBaseTransport
    ) -> TamperDemo:
        """The audit of ``citygate ledger verify`` over the real log, then over a copy with entry ``index``
        changed by one bit (``TamperedCopy`` over ``transport``, the stage's way to the service)."""
        within(index, head.tree_size, "entry")
        original = await self.entry_bytes(index)
        tampered = flip_one_bit(original)
        honest = await LedgerAuditor(self.http).verify(raw)
        copy_transport = TamperedCopy(transport, index)
        async with httpx.AsyncClient(transport=copy_transport, base_url=self.http.base_url, timeout=30) as copy_http:
            copy = await LedgerAuditor(copy_http).verify(raw)
        inclusion = await self.inclusion(head, index, tampered)
        return TamperDemo(index, _text(original), _text(tampered), honest, copy, inclusion)


def within(index: int, size: int, what: str) -> None:
    if index >= size:
        raise IndexBeyondTreeSize(f"The signed tree has {size} entries (0 to {size - 1}); {what} {index} is beyond it.")


def flip_one_bit(entry: bytes) -> bytes:
    """The entry with one bit of its middle byte changed: a character of the commitment, in practice."""
    changed = bytearray(entry)
    changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


def _text(entry: bytes) -> str:
    return entry.decode("utf-8", errors="replace")


class TamperedCopy(httpx.AsyncBaseTransport):
    """The ledger as the stage's copy has it: every answer as the service sent it, except that entry
    ``index`` in a page of ``/ledger/entries`` has one bit changed. Reads only; nothing is sent on."""

    def __init__(self, inner: httpx.AsyncBaseTransport, index: int) -> None:
        self.inner = inner
        self.index = index

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path != "/ledger/entries" or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        for row in body["entries"]:
            if row["index"] == self.index:
                row["entry"] = base64.b64encode(flip_one_bit(base64.b64decode(row["entry"]))).decode("ascii")
        return httpx.Response(200, json=body, request=request)
