"""The consent service's transparency log: an RFC 9162 Merkle tree stored as its perfect nodes.

Three tables (``consent.models``): each leaf's exact bytes with what stays private beside it, every
perfect node, and the committed size; appends go through a ``LedgerTransaction``
(``consent.ledger_transaction``). Roots and proofs for any size up to the head are computed from
O(log n) stored nodes fetched in one query, so they cost the same at a million entries as at ten. They never read
``ledger_entry``: the nodes are what the log has committed to, so an entry altered afterwards
shows up as a mismatch when an auditor rehashes the entries, instead of silently changing
roots the log has already published.

Appends are serialized: in-process by a lock, across processes by ``SELECT … FOR UPDATE`` on
the head row (PostgreSQL) or by SQLite's single-writer lock, which the transaction's first
statement (a write) takes before anything is read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from consent import merkle
from consent.ledger_transaction import LedgerTransaction
from consent.merkle import Frontier, NodeKey
from consent.models import LEDGER_ENTRIES, LEDGER_HEAD, LEDGER_NODES, LedgerEntry
from kernel.database import Database


class BeyondTreeSize(ValueError):
    """A leaf index or tree size the log has not reached (yet)."""


class MissingNode(LookupError):
    """A perfect node the head says exists is not stored: the node table was damaged."""


_entries, _nodes, _head = LEDGER_ENTRIES, LEDGER_NODES, LEDGER_HEAD


class Ledger:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._append_lock = threading.Lock()
        # The frontier the last commit left, by size: nodes never change once written, so when the
        # head still has this size the next transaction need not fetch them again.
        self._last_frontier: Frontier | None = None

    # --- writing ---------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[LedgerTransaction]:
        with self._append_lock, self.database.session() as session:
            try:
                transaction = LedgerTransaction(session, self._lock_head(session))
                yield transaction
                frontier = transaction.finish()
                session.commit()
                self._last_frontier = frontier
            except BaseException:
                session.rollback()
                raise

    def append(self, entry: bytes, **details: Any) -> int:
        """One entry in its own transaction."""
        with self.transaction() as transaction:
            return transaction.append(entry, **details)

    def _lock_head(self, session: Session) -> Frontier:
        dialect = session.get_bind().dialect.name
        make_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        # First statement, and a write: on SQLite this takes the database's write lock (waiting
        # out the busy timeout) before the head is read, so no other writer can slip in between.
        session.execute(make_insert(_head).values(id=1, size=0).on_conflict_do_nothing(index_elements=["id"]))
        size = session.execute(select(_head.c.size).where(_head.c.id == 1).with_for_update()).scalar_one()
        if self._last_frontier is not None and self._last_frontier.size == size:
            return self._last_frontier.copy()
        keys = merkle.nodes_for_root(size)
        nodes = _fetch_nodes(session, keys)
        if len(nodes) != len(keys):
            raise MissingNode(f"the frontier of size {size} is not fully stored: {sorted(set(keys) - set(nodes))}")
        return Frontier(size, nodes)

    # --- reading ---------------------------------------------------------------------------------

    def size(self) -> int:
        with self.database.session() as session:
            return _head_size(session)

    def root(self, tree_size: int | None = None) -> bytes:
        with self.database.session() as session:
            size = _head_size(session)
            if tree_size is None:
                tree_size = size
            _within(tree_size, size, "tree size")
            keys = merkle.nodes_for_root(tree_size)
            return merkle.root_hash(tree_size, _source(_fetch_nodes(session, keys)))

    def inclusion_proof(self, leaf_index: int, tree_size: int) -> list[bytes]:
        with self.database.session() as session:
            _within(tree_size, _head_size(session), "tree size")
            if leaf_index >= tree_size:
                raise BeyondTreeSize(f"leaf {leaf_index} is not in the tree of size {tree_size}")
            keys = merkle.nodes_for_inclusion(leaf_index, tree_size)
            return merkle.inclusion_proof(leaf_index, tree_size, _source(_fetch_nodes(session, keys)))

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        with self.database.session() as session:
            _within(second, _head_size(session), "tree size")
            keys = merkle.nodes_for_consistency(first, second)
            return merkle.consistency_proof(first, second, _source(_fetch_nodes(session, keys)))

    def entries(self, start: int, end: int) -> list[LedgerEntry]:
        """Entries ``start`` to ``end`` (exclusive) in log order; the caller bounds the range."""
        _check_range(start, end)
        with self.database.session() as session:
            statement = (
                select(LedgerEntry)
                .where(_entries.c["index"] >= start, _entries.c["index"] < end)
                .order_by(_entries.c["index"])
            )
            return list(session.scalars(statement))

    def entry_bytes(self, start: int, end: int) -> list[bytes]:
        """Just the leaves' bytes, for whoever rehashes the log (no row objects built)."""
        _check_range(start, end)
        with self.database.session() as session:
            statement = (
                select(_entries.c.entry)
                .where(_entries.c["index"] >= start, _entries.c["index"] < end)
                .order_by(_entries.c["index"])
            )
            return list(session.execute(statement).scalars())

    def entries_of(
        self,
        citizen_key: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        recipient: str | None = None,
        limit: int = 100,
    ) -> list[LedgerEntry]:
        """A citizen's entries, newest first; ``since`` inclusive, ``until`` exclusive."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        if any(bound is not None and bound.tzinfo is None for bound in (since, until)):
            raise ValueError("since and until must be timezone-aware")
        conditions = [_entries.c.citizen_key == citizen_key]
        if since is not None:
            conditions.append(_entries.c.recorded_at >= since)
        if until is not None:
            conditions.append(_entries.c.recorded_at < until)
        if recipient is not None:
            conditions.append(_entries.c.recipient == recipient)
        with self.database.session() as session:
            statement = select(LedgerEntry).where(*conditions).order_by(_entries.c["index"].desc()).limit(limit)
            return list(session.scalars(statement))


def _head_size(session: Session) -> int:
    return session.execute(select(_head.c.size).where(_head.c.id == 1)).scalar_one_or_none() or 0


def _within(tree_size: int, size: int, what: str) -> None:
    if tree_size < 0:
        raise ValueError(f"{what} {tree_size} is negative")
    if tree_size > size:
        raise BeyondTreeSize(f"{what} {tree_size} is beyond the log's size {size}")


def _check_range(start: int, end: int) -> None:
    if not 0 <= start <= end:
        raise ValueError(f"no entries from {start} to {end}")


def _fetch_nodes(session: Session, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    """All of ``keys`` in one query. Written as ``(level = L AND index IN (…)) OR …`` because SQLite
    answers that from the primary key, while it scans the whole table for a row-value IN."""
    by_level: dict[int, list[int]] = {}
    for level, index in keys:
        by_level.setdefault(level, []).append(index)
    if not by_level:
        return {}
    statement = select(_nodes.c.level, _nodes.c["index"], _nodes.c.hash).where(
        or_(
            *(
                and_(_nodes.c.level == level, _nodes.c["index"].in_(indices))
                for level, indices in sorted(by_level.items())
            )
        )
    )
    return {(level, index): value for level, index, value in session.execute(statement)}


def _source(nodes: dict[NodeKey, bytes]) -> merkle.NodeSource:
    def node(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise MissingNode(f"ledger node {(level, index)} is not stored") from None

    return node
