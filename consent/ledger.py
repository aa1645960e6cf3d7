"""The consent service's transparency log: an RFC 9162 Merkle tree stored as its perfect nodes.

Three tables. ``ledger_entry`` holds each leaf's exact bytes (what the log commits to and publishes)
beside what stays private: the event in clear with the salt that opens the leaf's commitment
(``consent.commitments``), and an index of whose event it is; ``ledger_node`` holds every perfect node, written once by
the append that completes it (leaves at level 0); ``ledger_head`` holds the committed size.
Roots and proofs for any size up to the head are computed from O(log n) stored nodes fetched in
one query, so they cost the same at a million entries as at ten. They never read
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
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Integer,
    LargeBinary,
    SmallInteger,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session

from consent import merkle
from consent.commitments import new_salt, public_leaf
from consent.merkle import Frontier, NodeKey
from consent.tables import ConsentTable
from kernel.database import Database, UtcDateTime


class BeyondTreeSize(ValueError):
    """A leaf index or tree size the log has not reached (yet)."""


class MissingNode(LookupError):
    """A perfect node the head says exists is not stored: the node table was damaged."""


# SQLite's rowid is the cheapest key there is, but only a column typed exactly INTEGER aliases it
_POSITION = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(ConsentTable, table=True):
    __tablename__ = "ledger_entry"

    index: int = Field(sa_column=Column("index", _POSITION, primary_key=True, autoincrement=False))
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # private: the event in clear and the salt of the leaf's commitment, for the citizen's own view
    clear: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    salt: bytes | None = Field(default=None, sa_column=Column(LargeBinary(32), nullable=True))
    # private: whose event this is, for the citizen's own view; never part of the leaf
    citizen_key: str | None = Field(default=None, index=True)
    recipient: str | None = Field(default=None, index=True)
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class LedgerNode(ConsentTable, table=True):
    __tablename__ = "ledger_node"
    # the key is the whole point of the table: no separate rowid b-tree to maintain on SQLite
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = Field(sa_column=Column("index", BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class LedgerHead(ConsentTable, table=True):
    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_ledger_head_single_row"),)

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


_entries = LedgerEntry.__table__
_nodes = LedgerNode.__table__
_head = LedgerHead.__table__


class LedgerTransaction:
    """One database transaction appending to the log. ``session`` is open for the caller's own
    rows, which then commit or roll back together with the entries they describe.

    Entries and nodes are buffered and written in bulk (at ``flush()``, every
    ``FLUSH_EVERY`` entries and at the end), so thousands of appends cost a few statements.
    Do not commit or roll back ``session`` yourself: that would release the append lock."""

    FLUSH_EVERY = 2000

    def __init__(self, session: Session, frontier: Frontier) -> None:
        self.session = session
        self.start_size = frontier.size
        self._frontier = frontier
        self._entry_rows: list[dict] = []
        self._node_rows: list[dict] = []
        self._broken = False

    @property
    def size(self) -> int:
        """The log's size once this transaction commits."""
        return self._frontier.size

    def root(self) -> bytes:
        """The root this transaction will commit (e.g. to sign a tree head in the same transaction)."""
        return self._frontier.root()

    def append_event(
        self,
        clear: bytes,
        *,
        citizen_key: str | None = None,
        recipient: str | None = None,
        recorded_at: datetime | None = None,
    ) -> int:
        """Log an event about a citizen: the public leaf is only a commitment to ``clear``, which is
        kept private with its salt (``consent.commitments``). Every consent event goes through here."""
        if not isinstance(clear, bytes):
            raise TypeError("a ledger event is the exact bytes of the clear entry")
        salt = new_salt()
        return self.append(
            public_leaf(salt, clear),
            clear=clear,
            salt=salt,
            citizen_key=citizen_key,
            recipient=recipient,
            recorded_at=recorded_at,
        )

    def append(
        self,
        entry: bytes,
        *,
        clear: bytes | None = None,
        salt: bytes | None = None,
        citizen_key: str | None = None,
        recipient: str | None = None,
        recorded_at: datetime | None = None,
    ) -> int:
        """Append the leaf ``entry`` exactly as given (it is public): events use ``append_event``."""
        if self._broken:
            raise RuntimeError("a write of this ledger transaction failed; it can only roll back")
        if not isinstance(entry, bytes):
            raise TypeError("a ledger entry is the exact bytes of the leaf")
        if recorded_at is None:
            recorded_at = datetime.now(UTC)
        elif recorded_at.tzinfo is None:
            raise ValueError("recorded_at must be timezone-aware")
        index = self._frontier.size
        self._node_rows.extend(
            {"level": level, "index": position, "hash": value}
            for (level, position), value in self._frontier.append(merkle.leaf_hash(entry))
        )
        self._entry_rows.append(
            {
                "index": index,
                "entry": entry,
                "clear": clear,
                "salt": salt,
                "citizen_key": citizen_key,
                "recipient": recipient,
                "recorded_at": recorded_at,
            }
        )
        if len(self._entry_rows) >= self.FLUSH_EVERY:
            self.flush()
        return index

    def flush(self) -> None:
        """Write the buffered entries and nodes (still uncommitted), e.g. before querying them."""
        try:
            if self._entry_rows:
                self.session.execute(insert(_entries), self._entry_rows)
            if self._node_rows:
                self.session.execute(insert(_nodes), self._node_rows)
        except BaseException:
            self._broken = True  # the frontier is ahead of what the database holds
            raise
        self._entry_rows, self._node_rows = [], []

    def _finish(self) -> None:
        if self._broken:
            raise RuntimeError("a write of this ledger transaction failed; it can only roll back")
        self.flush()
        if self.size != self.start_size:
            self.session.execute(update(_head).where(_head.c.id == 1).values(size=self.size))


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
                transaction._finish()
                session.commit()
                self._last_frontier = transaction._frontier
            except BaseException:
                session.rollback()
                raise

    def append(self, entry: bytes, **details) -> int:
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
