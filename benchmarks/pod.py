#!/usr/bin/env python3
"""GET and PUT of a small Turtle resource in a citizen's pod, access control on.

The rights regime runs in this process (the test suite's mesh: real apps, databases, tokens and
ACL evaluation; the network replaced by ASGI calls). Every request carries the citizen's own-app
token and is checked against the pod's ACLs (the resource inherits the root's acl:default). Rows
at 1 and 8 concurrent clients; the baseline is the pod's GET /healthz in the same run.

    python benchmarks/pod.py [--requests 1000] [--concurrency 1 8] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consent_decisions import measure  # noqa: E402  (benchmarks/consent_decisions.py)
from ledger import machine  # noqa: E402  (benchmarks/ledger.py)

from identity.personas import DEMO_PASSWORD  # noqa: E402
from kernel import topology  # noqa: E402
from kernel.regime import Regime  # noqa: E402
from tests.mesh import Mesh  # noqa: E402
from tests.support import postgres_databases  # noqa: E402
from workshop.citizen_app import citizen_token  # noqa: E402

TURTLE = '@prefix ex: <http://example.org/> .\n<#it> ex:says "hello" ; ex:count 1 .\n'


async def run(args: argparse.Namespace, data_root: Path, database_urls: dict[str, str] | None) -> list[dict]:
    async with Mesh(Regime.RIGHTS, data_root, database_urls) as mesh:
        async with mesh.client("identity") as identity:
            token = (await citizen_token(identity, username="wang-fang", password=DEMO_PASSWORD,
                                         resource_service="pod")).access_token
        auth = {"Authorization": f"Bearer {token}"}
        async with mesh.client("pod") as pod:
            root = (await pod.post("/pods", headers=auth)).json()["storage"].removeprefix(mesh.urls["pod"])
            put = await pod.put(f"{root}bench/note.ttl", content=TURTLE, headers=auth | {"Content-Type": "text/turtle"})
            put.raise_for_status()
        path = f"{root}bench/note.ttl"
        rows = {
            "baseline: GET /healthz": lambda c: c.get("/healthz"),
            "GET small Turtle (ACL checked)": lambda c: c.get(path, headers=auth),
            "PUT small Turtle (ACL checked)": lambda c: c.put(path, content=TURTLE,
                                                              headers=auth | {"Content-Type": "text/turtle"}),
        }
        results = []
        for concurrency in args.concurrency:
            for name, send in rows.items():
                row = await measure(mesh, name, send, args.requests, concurrency, service="pod",
                                    ok=(200, 205))
                results.append(row)
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    print(*machine(), sep="\n")
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.requests} requests per row, in-process mesh")
    with tempfile.TemporaryDirectory(prefix="citygate-pod-bench-") as tmp:
        if args.postgres:
            with postgres_databases(*(s.name for s in topology.services_in(Regime.RIGHTS))) as urls:
                results = asyncio.run(run(args, Path(tmp), urls))
        else:
            results = asyncio.run(run(args, Path(tmp), None))
    print(f"\n{'row':<32} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms/req':>10} {'vs baseline':>11}")
    for row in results:
        base = next(r for r in results if r["concurrency"] == row["concurrency"] and r["name"].startswith("baseline"))
        print(f"{row['name']:<32} {row['concurrency']:>4} {row['rps']:>8,.0f} {row['p50_ms']:>7.2f} "
              f"{row['p99_ms']:>7.2f} {row['cpu_ms']:>10.2f} {row['rps'] / base['rps']:>10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
