"""What the in-process service benchmarks share: the rights regime in one process (the test suite's
mesh: real apps, databases and tokens, the network replaced by ASGI calls), a load loop, and the
table of rates relative to a baseline row measured in the same run."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.ledger import machine
from kernel import topology
from kernel.regime import Regime
from tests.fixtures.databases import postgres_databases
from tests.fixtures.mesh import Mesh

Send = Callable[..., Awaitable]
Setup = Callable[[Mesh], Awaitable[dict[str, Send]]]
BASELINE = "baseline: GET /healthz"


async def measure(
    mesh: Mesh, name: str, send: Send, requests: int, concurrency: int, *, service: str, ok: tuple[int, ...]
) -> dict:
    """Rate, latency percentiles and process CPU per request of ``send`` against ``service``."""
    latencies: list[float] = []
    remaining = requests

    async def worker(client) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await send(client)
            latencies.append(time.perf_counter() - started)
            if response.status_code not in ok:
                raise RuntimeError(f"{name}: {response.status_code} {response.text}")

    async with mesh.client(service) as client:
        for _ in range(min(50, requests)):  # warm-up
            await send(client)
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    latencies.sort()
    return {
        "name": name,
        "concurrency": concurrency,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "cpu_ms": cpu / len(latencies) * 1000,
    }


async def _run(args, data_root: Path, database_urls, setup: Setup, service: str, ok: tuple[int, ...]) -> list[dict]:
    # every service up before the clock starts, as in a deployment (the mesh otherwise starts each when first called)
    async with Mesh(Regime.RIGHTS, data_root, database_urls, started=("all",)) as mesh:
        rows = {BASELINE: lambda client: client.get("/healthz"), **await setup(mesh)}
        return [
            await measure(mesh, name, send, args.requests, concurrency, service=service, ok=ok)
            for concurrency in args.concurrency
            for name, send in rows.items()
        ]


def run_benchmark(
    description: str, setup: Setup, *, service: str, default_requests: int, ok: tuple[int, ...] = (200,)
) -> int:
    """The command line of one benchmark: ``setup`` returns its rows (name -> request) once the mesh runs."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=default_requests)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--postgres", action="store_true", help="every service on local PostgreSQL")
    args = parser.parse_args()
    print(*machine(), sep="\n")
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.requests} requests per row, in-process mesh")
    with tempfile.TemporaryDirectory(prefix=f"citygate-{service}-bench-") as tmp:
        if args.postgres:
            with postgres_databases(*(s.name for s in topology.services_in(Regime.RIGHTS))) as urls:
                results = asyncio.run(_run(args, Path(tmp), urls, setup, service, ok))
        else:
            results = asyncio.run(_run(args, Path(tmp), None, setup, service, ok))
    width = max(len(row["name"]) for row in results) + 2
    print(
        f"\n{'row':<{width}} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'cpu ms/req':>10} {'vs baseline':>11}"
    )
    for row in results:
        base = next(r for r in results if r["concurrency"] == row["concurrency"] and r["name"] == BASELINE)
        print(
            f"{row['name']:<{width}} {row['concurrency']:>4} {row['rps']:>8,.0f} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['cpu_ms']:>10.2f} {row['rps'] / base['rps']:>10.2f}x"
        )
    return 0
