#!/usr/bin/env python3
"""How fast the consent service answers "may this holder release this now?", the call on every read.

All rights-regime services run in this process (the test suite's in-process mesh: real apps, real
databases, real tokens; only the network is replaced by ASGI calls), so every row below is the same
process doing the same client work, and the ratios compare like with like:

    baseline        GET /healthz on the consent service (database ping, no token)
    tree head       GET /ledger/tree-head (root from stored nodes + an ES256 signature)
    preview         POST /decisions with log_access=false (token, artefact lookup, no write)
    decision        POST /decisions (the real thing: the access is appended to the ledger first)
    with receipt    POST /decisions presenting the signed receipt (adds a signature check)

    python benchmarks/consent_decisions.py [--requests 2000] [--concurrency 1 8] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import machine  # noqa: E402  (benchmarks/ledger.py)
from sqlmodel import select  # noqa: E402

from identity.models import Citizen  # noqa: E402
from identity.personas import DEMO_PASSWORD, by_handle  # noqa: E402
from kernel import topology  # noqa: E402
from kernel.regime import Regime  # noqa: E402
from tests.mesh import Mesh  # noqa: E402
from tests.support import postgres_databases  # noqa: E402
from workshop.citizen_app import citizen_token  # noqa: E402

PATIENT = by_handle("wang-fang")


async def service_token(mesh: Mesh, client: str, callee: str) -> str:
    return await mesh.apps[client].state.services.tokens.token_for(callee)


def pod_subject(mesh: Mesh) -> str:
    identity = mesh.apps["identity"]
    with identity.state.database.session() as session:
        citizen = session.exec(select(Citizen).where(Citizen.resident_id == PATIENT.resident_id)).one()
    return identity.state.token_server.profile.subject_for(citizen, "pod")


async def given_consent(mesh: Mesh) -> dict:
    subject = await mesh.apps["prescriptions"].state.services.sector_subject(PATIENT.resident_id)
    async with mesh.client("consent") as consent:
        request = await consent.post("/consent-requests", headers={
            "Authorization": f"Bearer {await service_token(mesh, 'prescriptions', 'consent')}"}, json={
            "subject": subject, "purposes": ["dpv:ServiceProvision"], "categories": ["pd:Prescription"],
            "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat()})
        request.raise_for_status()
    async with mesh.client("identity") as identity:
        tokens = await citizen_token(identity, username=PATIENT.handle, password=DEMO_PASSWORD,
                                     resource_service="consent")
    async with mesh.client("consent") as consent:
        given = await consent.post(f"/me/artefacts/{request.json()['id']}/status", json={"status": "given"},
                                   headers={"Authorization": f"Bearer {tokens.access_token}"})
        given.raise_for_status()
    return given.json()


async def measure(mesh: Mesh, name: str, send, requests: int, concurrency: int, *, service: str = "consent",
                  ok: tuple[int, ...] = (200,)) -> dict:
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
    return {"name": name, "concurrency": concurrency, "rps": len(latencies) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "cpu_ms": cpu / len(latencies) * 1000}


async def run(args: argparse.Namespace, data_root: Path, database_urls: dict[str, str] | None) -> list[dict]:
    async with Mesh(Regime.RIGHTS, data_root, database_urls) as mesh:
        artefact = await given_consent(mesh)
        holder = {"Authorization": f"Bearer {await service_token(mesh, 'pod', 'consent')}"}
        question = {"subject": pod_subject(mesh), "recipient": "prescriptions", "category": "pd:Prescription",
                    "purpose": "dpv:ServiceProvision", "resource": "/prescriptions/1"}
        rows = {
            "baseline: GET /healthz": lambda c: c.get("/healthz"),
            "GET /ledger/tree-head": lambda c: c.get("/ledger/tree-head"),
            "decision preview (no log)": lambda c: c.post("/decisions", headers=holder,
                                                          json=question | {"log_access": False}),
            "decision (logged)": lambda c: c.post("/decisions", headers=holder, json=question),
            "decision + receipt (logged)": lambda c: c.post("/decisions", headers=holder,
                                                            json=question | {"artefact": artefact["receipt"]}),
        }
        results = []
        for concurrency in args.concurrency:
            for name, send in rows.items():
                results.append(await measure(mesh, name, send, args.requests, concurrency))
        async with mesh.client("consent") as client:
            size = (await client.get("/ledger/tree-head")).json()["tree_size"]
        print(f"ledger size at the end: {size:,} entries")
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--postgres", action="store_true", help="every service on local PostgreSQL")
    args = parser.parse_args()
    print(*machine(), sep="\n")
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.requests} requests per row, in-process mesh")
    with tempfile.TemporaryDirectory(prefix="citygate-consent-bench-") as tmp:
        if args.postgres:
            with postgres_databases(*(s.name for s in topology.services_in(Regime.RIGHTS))) as urls:
                results = asyncio.run(run(args, Path(tmp), urls))
        else:
            results = asyncio.run(run(args, Path(tmp), None))
    print(f"\n{'row':<30} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms/req':>10} {'vs baseline':>11}")
    for row in results:
        base = next(r for r in results if r["concurrency"] == row["concurrency"] and r["name"].startswith("baseline"))
        print(f"{row['name']:<30} {row['concurrency']:>4} {row['rps']:>8,.0f} {row['p50_ms']:>7.2f} "
              f"{row['p99_ms']:>7.2f} {row['cpu_ms']:>10.2f} {row['rps'] / base['rps']:>10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
