"""One database transaction appending to the transparency ledger (``consent.ledger``).

The leaves and the perfect nodes they complete are buffered and written in bulk, and the head's
size moves once, at the end: the caller's own rows in the same session commit or roll back with
the entries that describe them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session

from consent import merkle
from consent.commitments import new_salt, public_leaf
from consent.merkle import Frontier
from consent.models import LEDGER_ENTRIES, LEDGER_HEAD, LEDGER_NODES


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
        self._entry_rows: list[dict[str, Any]] = []
        self._node_rows: list[dict[str, Any]] = []
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
                self.session.execute(insert(LEDGER_ENTRIES), self._entry_rows)
            if self._node_rows:
                self.session.execute(insert(LEDGER_NODES), self._node_rows)
        except BaseException:
            self._broken = True  # the frontier is ahead of what the database holds
            raise
        self._entry_rows, self._node_rows = [], []

    def finish(self) -> Frontier:
        """Write what is buffered and move the head (``Ledger.transaction`` calls it, then commits):
        the frontier the commit leaves, for the next transaction to start from."""
        if self._broken:
            raise RuntimeError("a write of this ledger transaction failed; it can only roll back")
        self.flush()
        if self.size != self.start_size:
            self.session.execute(update(LEDGER_HEAD).where(LEDGER_HEAD.c.id == 1).values(size=self.size))
        return self._frontier
