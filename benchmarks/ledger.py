#!/usr/bin/env python3
"""Benchmark the consent ledger (consent.ledger) at a realistic size.

Appends N canonical-JSON access events (~250 bytes each) in batched transactions, then measures
appends of one entry per transaction, inclusion and consistency proofs at the final size (random
queries), and an auditor's full rehash of the stored entries with ``StreamingRoot`` against the
stored ``root()``. Prints the measured numbers and the machine; nothing is hard-coded.

    python benchmarks/ledger.py                                   # 1,000,000 entries, SQLite in a temp dir
    python benchmarks/ledger.py --entries 100000 --batch 5000
    python benchmarks/ledger.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/ledger_bench

With ``--database-url`` the database must exist and hold no ledger yet (its tables are created).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consent import merkle
from consent.ledger import Ledger
from consent.ledger_events import access_event
from consent.models import ConsentTable
from kernel.database import Database

RECIPIENTS = ["prescriptions", "fines", "appointments", "gateway"]
PURPOSES = ["dpv:ServiceProvision", "dpv:DeliveryOfGoods", "dpv:PaymentManagement", "dpv:LegalCompliance"]
CATEGORIES = ["pd:Prescription", "pd:HealthRecord", "pd:PhysicalAddress", "pd:VehicleLicense", "pd:MaritalStatus"]


class Events:
    """Deterministic access events, in the very format the consent service logs (consent.ledger_events)."""

    def __init__(self, seed: int, citizens: int) -> None:
        self.rng = random.Random(seed)
        self.citizens = [
            f"urn:citygate:pseudonym:health:{uuid.UUID(int=self.rng.getrandbits(128)).hex}" for _ in range(citizens)
        ]
        self.clock = datetime(2026, 3, 1, tzinfo=UTC)

    def next(self) -> tuple[bytes, str, str, datetime]:
        rng = self.rng
        self.clock += timedelta(milliseconds=rng.randint(1, 200))
        citizen, recipient = rng.choice(self.citizens), rng.choice(RECIPIENTS)
        entry = access_event(
            permitted=rng.random() < 0.95,
            at=self.clock,
            holder="pod",
            subject=citizen,
            recipient=recipient,
            category=rng.choice(CATEGORIES),
            purpose=rng.choice(PURPOSES),
            processing="dpv:Use",
            artefact_id=str(uuid.UUID(int=rng.getrandbits(128))),
            resource=f"/{recipient}/{rng.randrange(10**6)}",
            reason=None,
        )
        return entry, citizen, recipient, self.clock


def machine() -> list[str]:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        cpu = next((line.split(":", 1)[1].strip() for line in fh if line.lower().startswith("model name")), cpu)
    nproc: int | None
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    return [
        f"machine:  nproc {nproc}, CPU {cpu}, {platform.system()} {platform.release()}",
        f"software: {platform.python_implementation()} {platform.python_version()}, "
        f"SQLAlchemy {metadata.version('sqlalchemy')}, SQLite {sqlite3.sqlite_version}, "
        f"psycopg {metadata.version('psycopg')}",
    ]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed(samples: list[float], call):
    started = time.perf_counter()
    result = call()
    samples.append(time.perf_counter() - started)
    return result


def append_one(ledger: Ledger, event: bytes, **details) -> int:
    """One event in its own transaction, as the consent service logs it (a commitment, kept opening)."""
    with ledger.transaction() as transaction:
        return transaction.append_event(event, **details)


def run(args: argparse.Namespace, url: str) -> None:
    database = Database(url, ConsentTable.metadata)
    database.create_tables()
    ledger = Ledger(database)
    if ledger.size():
        sys.exit(f"{database.url.render_as_string()} already holds a ledger of {ledger.size()} entries")
    events = Events(args.seed, args.citizens)
    print(*machine(), sep="\n")
    print(f"database: {database.url.render_as_string()}")
    print(f"entries:  {args.entries:,} in transactions of {args.batch:,}, then {args.single:,} one per transaction")

    sizes, started = [], time.perf_counter()
    while ledger.size() < args.entries:
        count = min(args.batch, args.entries - ledger.size())
        with ledger.transaction() as transaction:
            for _ in range(count):
                entry, citizen, recipient, at = events.next()
                sizes.append(len(entry))
                transaction.append_event(entry, citizen_key=citizen, recipient=recipient, recorded_at=at)
        if ledger.size() % args.progress < count:
            print(f"  … {ledger.size():,} entries, {time.perf_counter() - started:.1f} s", file=sys.stderr)
    batched = time.perf_counter() - started
    print(f"entry size:      mean {statistics.fmean(sizes):.0f} B, min {min(sizes)} B, max {max(sizes)} B")
    print(f"batched appends: {args.entries:,} in {batched:.1f} s = {args.entries / batched:,.0f} entries/s")

    single_times: list[float] = []
    for _ in range(args.single):
        entry, citizen, recipient, at = events.next()
        timed(
            single_times,
            functools.partial(append_one, ledger, entry, citizen_key=citizen, recipient=recipient, recorded_at=at),
        )
    total = sum(single_times)
    print(
        f"single appends:  {args.single:,} in {total:.1f} s = {args.single / total:,.0f} entries/s "
        f"(median {1e3 * statistics.median(single_times):.2f} ms, "
        f"p99 {1e3 * percentile(single_times, 0.99):.2f} ms per transaction)"
    )

    size = ledger.size()
    rng = random.Random(args.seed + 1)
    root_times: list[float] = []
    root = timed(root_times, ledger.root)
    for _ in range(args.queries - 1):
        timed(root_times, ledger.root)
    inclusion_times: list[float] = []
    consistency_times: list[float] = []
    for _ in range(args.queries):
        index = rng.randrange(size)
        proof = timed(inclusion_times, functools.partial(ledger.inclusion_proof, index, size))
        leaf = merkle.leaf_hash(ledger.entry_bytes(index, index + 1)[0])
        assert merkle.verify_inclusion(leaf, index, size, proof, root), index
    for _ in range(args.queries):
        first = rng.randint(1, size)
        proof = timed(consistency_times, functools.partial(ledger.consistency_proof, first, size))
        assert merkle.verify_consistency(first, size, ledger.root(first), root, proof), first
    print(f"at size {size:,}, {args.queries} random queries each (every proof verified, outside the timing):")
    for name, samples in (
        ("root()", root_times),
        ("inclusion proof", inclusion_times),
        ("consistency proof", consistency_times),
    ):
        print(
            f"  {name:<18} median {1e3 * statistics.median(samples):.2f} ms, "
            f"p99 {1e3 * percentile(samples, 0.99):.2f} ms, max {1e3 * max(samples):.2f} ms"
        )

    stream, started = merkle.StreamingRoot(), time.perf_counter()
    for start in range(0, size, args.page):
        for entry in ledger.entry_bytes(start, min(size, start + args.page)):
            stream.add(entry)
    rehash = time.perf_counter() - started
    matches = "equals" if stream.root() == root and stream.size == size else "DIFFERS FROM"
    print(
        f"full rehash:     {size:,} entries read in pages of {args.page:,} through StreamingRoot in {rehash:.1f} s "
        f"({size / rehash:,.0f} entries/s); its root {matches} root() = {root.hex()} "
        f"(root() median {1e3 * statistics.median(root_times):.2f} ms)"
    )
    audit = asyncio.run(audit_over_http(url, Path(tempfile.mkdtemp(prefix="ledger-bench-keys-"))))
    print(f"citygate ledger verify (LedgerAuditor over HTTP, in-process ASGI, pages of 1,000): {audit}")
    if database.is_sqlite:
        on_disk = sum(
            Path(f"{database.url.database}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{database.url.database}{suffix}").exists()
        )
        print(f"SQLite file:     {on_disk / 2**20:,.0f} MiB ({on_disk / size:,.0f} B per entry, nodes included)")
    database.dispose()


async def audit_over_http(url: str, data_dir: Path) -> str:
    """What an auditor runs: signed head, every entry over HTTP, independent rehash."""
    import httpx

    from consent.app import create_app
    from consent.settings import Settings
    from consent.verify import LedgerAuditor

    app = create_app(Settings(data_dir=data_dir, database_url=url))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://consent") as http:
            started = time.perf_counter()
            report = await LedgerAuditor(http).verify()
            elapsed = time.perf_counter() - started
    verdict = "OK" if report.ok else f"FAILED ({report.message})"
    return f"{report.tree_size:,} entries in {elapsed:.1f} s ({report.tree_size / elapsed:,.0f} entries/s), {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="entries per transaction in the bulk phase")
    parser.add_argument("--single", type=int, default=5_000, help="one-entry transactions measured at the end")
    parser.add_argument("--queries", type=int, default=200, help="random proofs of each kind")
    parser.add_argument("--page", type=int, default=10_000, help="entries per read in the full rehash")
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=9162)
    parser.add_argument("--progress", type=int, default=100_000, help="report progress every this many entries")
    parser.add_argument("--database-url", help="default: a SQLite file in a fresh temporary directory")
    args = parser.parse_args()
    if args.database_url:
        run(args, args.database_url)
        return
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as directory:
        run(args, f"sqlite:///{Path(directory) / 'consent.db'}")


if __name__ == "__main__":
    main()
