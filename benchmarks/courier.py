#!/usr/bin/env python3
"""What the blind courier costs: a citizen's fines lookup on the platform vs through the courier.

Both regimes run in this process, one after the other (the test suite's mesh: real apps,
databases, tokens and JWE; the network replaced by ASGI calls). Li Wei looks up his traffic fines:

- platform: ``GET /city-services/fines`` — the gateway asks the traffic police itself, for his
  resident ID, with its service token, and keeps the answer in its history;
- rights, direct: his app calls the department's ``GET /me/fines`` with its own token — the same
  read with no gateway in between (what the courier adds is measured against this);
- rights, courier: his app seals the request (JWE to the department's key, a fresh one-time reply
  key), the gateway relays it (``POST /courier/fines``), the department opens it, replays it on
  ``/me/fines`` in-process, seals the answer, and the app opens it — all inside each request.

Each regime has its own baseline row (the gateway's ``GET /healthz``, same process, same run).
The last table is the JWE work alone on one core: seal the request, open it, seal the answer,
open it.

    python benchmarks/courier.py [--requests 600] [--concurrency 1 8] [--crypto 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.in_process import BASELINE, measure
from benchmarks.ledger import machine
from kernel.courier import courier_request, open_response, seal, seal_request, unseal
from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from kernel.state import ServiceState, state_of
from tests.fixtures.logins import app_tokens
from tests.fixtures.mesh import Mesh
from workshop.super_app import log_in_to_super_app

CITIZEN = by_handle("li-wei")
PLATFORM_ROW = "platform: gateway reads for him"
DIRECT_ROW = "rights: his app, department direct"
COURIER_ROW = "rights: his app, blind courier"


async def session_header(mesh: Mesh) -> dict[str, str]:
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        await log_in_to_super_app(browser, mesh.urls["gateway"], username=CITIZEN.handle, password=DEMO_PASSWORD)
        return {"Authorization": f"Bearer {browser.cookies[f'citygate_gateway_{mesh.regime.value}']}"}


async def platform_rows(mesh: Mesh) -> dict:
    session = await session_header(mesh)
    return {PLATFORM_ROW: lambda client: client.get("/city-services/fines", headers=session)}


class Sealed:
    """The outer response, passed on once the sealed answer inside was opened and checked."""

    def __init__(self, outer: httpx.Response, reply_key) -> None:
        self.status_code, self.text = outer.status_code, outer.text
        if outer.status_code == 200:
            inner = open_response(outer.json()["envelope"], reply_key)
            if inner.status != 200 or not isinstance(inner.body, list):
                self.status_code, self.text = inner.status, str(inner.body)


async def rights_rows(mesh: Mesh) -> dict:
    session = await session_header(mesh)
    token = (await app_tokens(mesh, CITIZEN, "fines"))["fines"]
    fines_url = mesh.urls["fines"]
    async with mesh.client("fines") as fines:
        jwks = (await fines.get("/.well-known/jwks.json")).json()

    async def through_courier(client: httpx.AsyncClient) -> Sealed:
        envelope, reply_key = seal_request(jwks, method="GET", path="/me/fines", body=None, token=token)
        return Sealed(await client.post("/courier/fines", json={"envelope": envelope}, headers=session), reply_key)

    return {
        DIRECT_ROW: lambda client: client.get(fines_url + "/me/fines", headers={"Authorization": f"Bearer {token}"}),
        COURIER_ROW: through_courier,
    }


async def regime_rows(regime: Regime, data_root: Path, args) -> list[dict]:
    setup = platform_rows if regime is Regime.PLATFORM else rights_rows
    # every service up before the clock starts, as in a deployment (the mesh otherwise starts each when first called)
    async with Mesh(regime, data_root / regime.value, started=("all",)) as mesh:
        rows = {BASELINE: lambda client: client.get("/healthz"), **await setup(mesh)}
        results = [
            await measure(mesh, name, send, args.requests, concurrency, service="gateway", ok=(200,))
            for concurrency in args.concurrency
            for name, send in rows.items()
        ]
        department_key = state_of(mesh.apps["fines"], ServiceState).encryption_key
        async with mesh.client("fines") as fines:
            jwks = (await fines.get("/.well-known/jwks.json")).json()
    for row in results:
        row["regime"] = regime
    if regime is Regime.RIGHTS:
        results.append(crypto_row(jwks, department_key, args.crypto))
    return results


def crypto_row(jwks: dict, department_key, rounds: int) -> dict:
    """The four JWE operations of one courier round trip, on one core, no HTTP."""
    answer = {
        "status": 200,
        "content_type": "application/json",
        "body": [{"id": 1, "plate": CITIZEN.plate, "amount_cents": 20000, "status": "unpaid"}] * 2,
    }
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        envelope, reply_key = seal_request(jwks, method="GET", path="/me/fines", body=None, token="t" * 700)
        _, reply_public = courier_request(unseal(envelope, department_key), now=time.time())
        open_response(seal(answer, reply_public), reply_key)
    elapsed = time.perf_counter() - started
    return {
        "name": "JWE only: seal, open, seal back, open",
        "rps": rounds / elapsed,
        "ms": elapsed / rounds * 1000,
        "cpu_ms": (time.process_time() - cpu) / rounds * 1000,
    }


def report(results: list[dict]) -> None:
    http = [row for row in results if "concurrency" in row]
    width = max(len(row["name"]) for row in http) + 2
    print(
        f"\n{'row':<{width}} {'regime':>8} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms/req':>10} "
        f"{'vs baseline':>11}"
    )
    for row in http:
        base = next(
            r
            for r in http
            if (r["regime"], r["concurrency"], r["name"]) == (row["regime"], row["concurrency"], BASELINE)
        )
        print(
            f"{row['name']:<{width}} {row['regime'].value:>8} {row['concurrency']:>4} {row['rps']:>8,.0f} "
            f"{row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {row['cpu_ms']:>10.2f} {row['rps'] / base['rps']:>10.2f}x"
        )
    print()
    for concurrency in sorted({row["concurrency"] for row in http}):
        rate = {row["name"]: row["rps"] for row in http if row["concurrency"] == concurrency}
        print(
            f"concurrency {concurrency}: courier / platform {rate[COURIER_ROW] / rate[PLATFORM_ROW]:.2f}x, "
            f"courier / direct {rate[COURIER_ROW] / rate[DIRECT_ROW]:.2f}x (req/s)"
        )
    for row in results:
        if "concurrency" not in row:
            print(
                f"{row['name']}: {row['rps']:,.0f} round trips/s on one core ({row['ms']:.2f} ms each, "
                f"{row['cpu_ms']:.2f} ms CPU)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600, help="requests per row")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--crypto", type=int, default=300, help="JWE round trips for the crypto-only row")
    args = parser.parse_args()
    print(*machine(), sep="\n")
    print(f"database: SQLite; {args.requests} requests per row, in-process mesh, one regime after the other")
    with tempfile.TemporaryDirectory(prefix="citygate-courier-bench-") as tmp:
        results = [
            row
            for regime in (Regime.PLATFORM, Regime.RIGHTS)
            for row in asyncio.run(regime_rows(regime, Path(tmp), args))
        ]
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
