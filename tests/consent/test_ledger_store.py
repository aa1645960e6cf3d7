"""The stored Merkle log (consent.ledger) on a real database: SQLite, and PostgreSQL when it answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, text

from consent import merkle
from consent.ledger import BeyondTreeSize, Ledger
from consent.ledger_transaction import LedgerTransaction
from consent.models import ConsentTable, LedgerEntry, LedgerNode
from kernel.database import Database
from tests.fixtures import merkle_reference as ref
from tests.fixtures.databases import backend_database
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.narrowing import present

pytestmark = [BOTH_BACKENDS]


@pytest.fixture
def database(backend: str, tmp_path) -> Iterator[Database]:
    with backend_database(backend, tmp_path, "consent", ConsentTable.metadata) as database:
        yield database


@pytest.fixture
def ledger(database: Database) -> Ledger:
    return Ledger(database)


def entry(n: int) -> bytes:
    return f'{{"event":"access","n":{n}}}'.encode()


def append_all(ledger: Ledger, entries: list[bytes]) -> None:
    with ledger.transaction() as transaction:
        for value in entries:
            transaction.append(value)


def counts(database: Database) -> tuple[int, int]:
    with database.session() as session:
        return (
            present(session.scalar(select(func.count()).select_from(LedgerEntry))),
            present(session.scalar(select(func.count()).select_from(LedgerNode))),
        )


def test_an_empty_ledger(ledger: Ledger):
    assert ledger.size() == 0
    assert ledger.root() == ledger.root(0) == merkle.EMPTY_ROOT
    with pytest.raises(BeyondTreeSize):
        ledger.root(1)
    with ledger.transaction():
        pass  # a transaction that appends nothing changes nothing
    assert ledger.size() == 0


def test_roots_and_proofs_equal_the_reference_at_every_size(ledger: Ledger):
    entries = [entry(n) for n in range(70)]
    batches = [1, 1, 2, 3, 5, 8, 13, 21, 16]  # one-entry transactions and longer ones
    done = 0
    for batch in batches:
        append_all(ledger, entries[done : done + batch])
        done += batch
        assert ledger.size() == done
        assert ledger.root() == ref.mth(entries[:done])
    assert done == len(entries)

    for size in range(1, len(entries) + 1):
        tree = entries[:size]
        root = ledger.root(size)
        assert root == ref.mth(tree), size  # historical roots, from the same stored nodes
        for index in sorted({0, size // 2, size - 1, (size * 7) % size}):
            proof = ledger.inclusion_proof(index, size)
            assert proof == ref.path(index, tree), (index, size)
            assert merkle.verify_inclusion(merkle.leaf_hash(tree[index]), index, size, proof, root)
        for first in sorted({1, size // 2 or 1, size - 1 or 1, size, 1 << (size.bit_length() - 1)}):
            proof = ledger.consistency_proof(first, size)
            assert proof == ref.proof(first, tree), (first, size)
            assert merkle.verify_consistency(first, size, ref.mth(entries[:first]), root, proof)


def test_every_leaf_of_one_size_has_a_verifying_proof(ledger: Ledger):
    entries = [entry(n) for n in range(37)]
    append_all(ledger, entries)
    root = ledger.root()
    for index, value in enumerate(entries):
        proof = ledger.inclusion_proof(index, len(entries))
        assert merkle.verify_inclusion(merkle.leaf_hash(value), index, len(entries), proof, root)


def test_proofs_and_roots_read_the_nodes_in_one_query(ledger: Ledger, database: Database):
    append_all(ledger, [entry(n) for n in range(100)])
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        for call in (
            lambda: ledger.inclusion_proof(37, 99),
            lambda: ledger.consistency_proof(37, 99),
            lambda: ledger.root(99),
        ):
            statements.clear()
            call()
            assert len([s for s in statements if "ledger_node" in s]) == 1, statements
            assert len(statements) == 2, statements  # the head's size, then the nodes
        statements.clear()
        with ledger.transaction() as transaction:  # the frontier its last commit left is reused
            transaction.append(b"one more")
        assert not [s for s in statements if "FROM ledger_node" in s], statements
        statements.clear()
        with Ledger(database).transaction() as transaction:  # as another process would: read once
            transaction.append(b"and another")
        assert len([s for s in statements if "FROM ledger_node" in s]) == 1, statements
        assert Ledger(database).root() == ledger.root()
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def test_beyond_the_tree_size(ledger: Ledger):
    append_all(ledger, [entry(n) for n in range(5)])
    for call in (
        lambda: ledger.root(6),
        lambda: ledger.inclusion_proof(0, 6),
        lambda: ledger.inclusion_proof(5, 5),
        lambda: ledger.consistency_proof(1, 6),
    ):
        with pytest.raises(BeyondTreeSize):
            call()
    assert issubclass(BeyondTreeSize, ValueError)
    with pytest.raises(ValueError, match="no consistency proof"):
        ledger.consistency_proof(0, 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        ledger.consistency_proof(5, 4)
    assert ledger.consistency_proof(5, 5) == []


def test_a_failed_transaction_writes_nothing(ledger: Ledger, database: Database):
    entries = [entry(n) for n in range(10)]
    append_all(ledger, entries)
    before = (ledger.size(), ledger.root(), counts(database))

    class Boom(Exception):
        pass

    def fail_after_a_flush() -> None:
        with ledger.transaction() as transaction:
            for n in range(5000):  # more than one flush's worth, so rows did reach the database
                transaction.append(entry(1000 + n))
            transaction.flush()
            raise Boom

    with pytest.raises(Boom):
        fail_after_a_flush()
    assert (ledger.size(), ledger.root(), counts(database)) == before

    append_all(ledger, [entry(10)])  # the frontier reloads from what was committed
    assert ledger.root() == ref.mth([*entries, entry(10)])


def test_the_callers_session_is_the_ledgers_transaction(ledger: Ledger, database: Database):
    with ledger.transaction() as transaction:
        assert isinstance(transaction, LedgerTransaction)
        index = transaction.append(b"with the caller's row")
        transaction.flush()
        assert present(transaction.session.get(LedgerEntry, index)).entry == b"with the caller's row"
        assert transaction.root() == ref.mth([b"with the caller's row"])
        assert ledger.size() == 0  # not visible to anyone else before the commit
    assert ledger.size() == 1 and ledger.entries(0, 1)[0].entry == b"with the caller's row"


def run_threads(count: int, target) -> None:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            target(n)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def assert_consistent(ledger: Ledger, database: Database, expected: set[bytes]) -> None:
    size = ledger.size()
    rows = ledger.entries(0, size)
    assert [row.index for row in rows] == list(range(size))  # gapless
    assert {row.entry for row in rows} == expected and len(rows) == len(expected)
    assert ledger.root() == ref.mth([row.entry for row in rows])
    assert counts(database) == (size, 2 * size - bin(size).count("1"))  # every perfect node once


def test_concurrent_appends_from_eight_threads(ledger: Ledger, database: Database):
    returned: list[int] = []

    def work(worker: int) -> None:
        for batch in range(8):
            with ledger.transaction() as transaction:
                for n in range(1 + batch % 3):
                    returned.append(transaction.append(f"w{worker} b{batch} n{n}".encode()))

    run_threads(8, work)
    assert sorted(returned) == list(range(len(returned)))
    assert_consistent(
        ledger, database, {f"w{w} b{b} n{n}".encode() for w in range(8) for b in range(8) for n in range(1 + b % 3)}
    )


def test_concurrent_appends_through_separate_engines(database: Database):
    """As if from separate processes: no shared in-process lock, only the database's."""
    databases = [Database(database.url.render_as_string(hide_password=False), ConsentTable.metadata) for _ in range(4)]
    try:

        def work(worker: int) -> None:
            ledger = Ledger(databases[worker])
            for batch in range(6):
                with ledger.transaction() as transaction:
                    transaction.append(f"p{worker} b{batch}".encode())
                    transaction.append(f"p{worker} b{batch} again".encode())

        run_threads(4, work)
    finally:
        for other in databases:
            other.dispose()
    assert_consistent(
        Ledger(database),
        database,
        {f"p{w} b{b}{s}".encode() for w in range(4) for b in range(6) for s in ("", " again")},
    )


def test_entries_of_a_citizen_newest_first_with_filters(ledger: Ledger):
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with ledger.transaction() as transaction:
        for n in range(12):
            transaction.append(
                entry(n),
                citizen_key="alice" if n % 2 == 0 else "bob",
                recipient="hospital" if n % 3 == 0 else "pharmacy",
                recorded_at=start + timedelta(hours=n),
            )
        transaction.append(b"anonymous")

    alice = ledger.entries_of("alice")
    assert [e.index for e in alice] == [10, 8, 6, 4, 2, 0]
    assert all(e.recorded_at.tzinfo is not None and e.recorded_at.utcoffset() == timedelta(0) for e in alice)
    assert alice[0].recorded_at == start + timedelta(hours=10)
    assert [e.index for e in ledger.entries_of("alice", limit=2)] == [10, 8]
    assert [e.index for e in ledger.entries_of("alice", recipient="hospital")] == [6, 0]
    since, until = start + timedelta(hours=2), start + timedelta(hours=8)
    assert [e.index for e in ledger.entries_of("alice", since=since, until=until)] == [6, 4, 2]
    beijing = timezone(timedelta(hours=8))  # an aware bound in another zone means the same instant
    assert [e.index for e in ledger.entries_of("bob", since=since.astimezone(beijing))] == [11, 9, 7, 5, 3]
    assert ledger.entries_of("carol") == []
    assert [e.entry for e in ledger.entries(11, 13)] == [entry(11), b"anonymous"]
    assert ledger.entry_bytes(0, 3) == [entry(0), entry(1), entry(2)]


def test_naive_times_and_non_bytes_are_refused(ledger: Ledger):
    with pytest.raises(ValueError, match="timezone-aware"):
        with ledger.transaction() as transaction:
            transaction.append(b"x", recorded_at=datetime(2026, 1, 1))  # noqa: DTZ001 (naive on purpose)
    with pytest.raises(TypeError):
        with ledger.transaction() as transaction:
            transaction.append("not bytes")  # type: ignore[arg-type]
    assert ledger.size() == 0
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.entries_of("alice", since=datetime(2026, 1, 1))  # noqa: DTZ001 (naive on purpose)


def test_a_tampered_entry_changes_no_root_or_proof_but_a_rehash_finds_it(ledger: Ledger, database: Database):
    entries = [entry(n) for n in range(21)]
    append_all(ledger, entries)
    root, proof, consistency = ledger.root(), ledger.inclusion_proof(7, 21), ledger.consistency_proof(9, 21)

    with database.session() as session:
        session.execute(text('UPDATE ledger_entry SET entry = :forged WHERE "index" = 7'), {"forged": b"forged"})
        session.commit()
    assert ledger.entries(7, 8)[0].entry == b"forged"

    assert (ledger.root(), ledger.inclusion_proof(7, 21), ledger.consistency_proof(9, 21)) == (root, proof, consistency)
    # what an auditor does: rehash the published entries and compare with the published root
    stream = merkle.StreamingRoot()
    for value in ledger.entry_bytes(0, 21):
        stream.add(value)
    assert stream.root() != root
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), 7, 21, proof, root)
