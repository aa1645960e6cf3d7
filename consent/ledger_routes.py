"""The transparency ledger's public read API (RFC 9162 §5 shapes, in JSON with base64 hashes).

Public like a Certificate Transparency log, so anyone can audit it with nothing but these endpoints
and the key; but each entry is only a commitment to an event (``consent.commitments``): no
pseudonym, resource, party or kind — the events themselves go only to the citizen they concern.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from consent.dependencies import LedgerDep, TreeHeadsDep
from consent.errors import IndexBeyondTreeSize, InvalidRange
from consent.ledger import BeyondTreeSize
from consent.tree_heads import TreeHead, b64
from kernel.bounds import JSON_SAFE_MAX, LogIndex
from kernel.problems import problem_responses

MAX_PAGE = 1000
# Every index and size is bounded (the database column is a signed 64-bit integer); past the bound,
# or negative, is a 422 validation problem — within it, a size the log has not reached is 400.
MAX_POSITION = JSON_SAFE_MAX
# from 0 here, so that first=0 or tree_size=0 reach the routes and get the documented 400
Position = Annotated[LogIndex, Query()]
router = APIRouter(prefix="/ledger", tags=["transparency ledger"])


class LedgerEntryPublic(BaseModel):
    index: int
    entry: str = Field(description='The leaf\'s exact bytes, base64: RFC 8785 JSON {"v": 2, "commitment"}')


class LedgerEntries(BaseModel):
    entries: list[LedgerEntryPublic]


class RootPublic(BaseModel):
    tree_size: int
    root_hash: str


class InclusionProof(BaseModel):
    leaf_index: int
    tree_size: int
    inclusion_path: list[str] = Field(description="RFC 9162 §2.1.3 audit path, base64 hashes, leaf to root")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    consistency_path: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, base64 hashes")


def _beyond(error: BeyondTreeSize) -> IndexBeyondTreeSize:
    return IndexBeyondTreeSize(str(error))


@router.get("/tree-head", summary="The current signed tree head")
def tree_head(ledger: LedgerDep, tree_heads: TreeHeadsDep) -> TreeHead:
    return tree_heads.head(ledger)


@router.get(
    "/entries",
    summary=f"Entries [start, end), at most {MAX_PAGE} per call (fewer: ask again from the next index)",
    responses=problem_responses(InvalidRange, IndexBeyondTreeSize),
)
def entries(ledger: LedgerDep, start: Position, end: Position) -> LedgerEntries:
    if end <= start:
        raise InvalidRange("end must be greater than start.")
    size = ledger.size()
    if end > size:
        raise IndexBeyondTreeSize(f"end {end} is beyond the log's size {size}.", tree_size=size)
    rows = ledger.entries(start, min(end, start + MAX_PAGE))
    return LedgerEntries(entries=[LedgerEntryPublic(index=row.index, entry=b64(row.entry)) for row in rows])


@router.get(
    "/roots/{tree_size}",
    summary="The root hash of the tree at an earlier size (unsigned; "
    "check it with a consistency proof to a signed head)",
    responses=problem_responses(IndexBeyondTreeSize),
)
def root(ledger: LedgerDep, tree_size: Annotated[LogIndex, Path()]) -> RootPublic:
    try:
        return RootPublic(tree_size=tree_size, root_hash=b64(ledger.root(tree_size)))
    except BeyondTreeSize as error:
        raise _beyond(error) from error


@router.get(
    "/inclusion-proof",
    summary="Proof that entry leaf_index is in the tree of size tree_size",
    responses=problem_responses(IndexBeyondTreeSize),
)
def inclusion_proof(ledger: LedgerDep, leaf_index: Position, tree_size: Position) -> InclusionProof:
    try:
        path = ledger.inclusion_proof(leaf_index, tree_size)
    except BeyondTreeSize as error:
        raise _beyond(error) from error
    return InclusionProof(leaf_index=leaf_index, tree_size=tree_size, inclusion_path=[b64(h) for h in path])


@router.get(
    "/consistency-proof",
    summary="Proof that the tree of size first is a prefix of the tree of size second",
    responses=problem_responses(InvalidRange, IndexBeyondTreeSize),
)
def consistency_proof(ledger: LedgerDep, first: Position, second: Position) -> ConsistencyProof:
    if not 0 < first <= second:
        raise InvalidRange("first must be at least 1 (the empty tree needs no proof) and not exceed second.")
    try:
        path = ledger.consistency_proof(first, second)
    except BeyondTreeSize as error:
        raise _beyond(error) from error
    return ConsistencyProof(first=first, second=second, consistency_path=[b64(h) for h in path])
