#!/usr/bin/env python3
"""Benchmark the real walking-skeleton path with the kernel client on each transport.

    load generator -> gateway  GET /demo/vehicles/{plate}/fines
                        -> fines  GET /vehicles/{plate}/fines   (token verified, SQLite read)

The services are the real ones (``citygate serve``, started by the launcher on free
loopback ports, rights regime, demo data): the gateway's kernel client gets its token
from the identity service once and caches it, so each measured request is one
authenticated hop. One row per ``CITYGATE_GATEWAY_HTTP_TRANSPORT`` value, plus a
baseline row: fines alone, called directly with a real token. Load generation, CPU
sampling and warm-up come from ``proxy_hop.py``.

    python benchmarks/skeleton_path.py [--duration 10] [--warmup 2] [--connections 32] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import proxy_hop, real_services
from kernel import topology
from kernel.client import AccessTokenCache
from kernel.keys import load_or_create_signing_key
from kernel.regime import Regime
from services.fines.demo import DEMO_PLATE
from tests.fixtures.processes import free_port_block
from workshop.launcher import Launcher

SERVICES = {"identity", "gateway", "fines"}
TRANSPORTS = ("httpx", "aiohttp")


def start(data_root: Path, transport: str) -> Launcher:
    os.environ["CITYGATE_GATEWAY_HTTP_TRANSPORT"] = transport
    base = free_port_block(100)
    # rights ports are base+100 above the platform base; only the rights regime runs here
    launcher = Launcher([Regime.RIGHTS], data_root=data_root, base_ports=topology.base_ports_from(base - 100))
    launcher.endpoints = [e for e in launcher.endpoints if e.service in SERVICES]
    launcher.start()
    launcher.wait_until_healthy(timeout=120)
    return launcher


async def token_as_gateway(launcher: Launcher, data_root: Path) -> str:
    """The operator's view: a token obtained with the gateway's own key from its data dir."""
    key = load_or_create_signing_key(data_root / "rights" / "gateway" / "keys")
    async with httpx.AsyncClient() as http:
        cache = AccessTokenCache(
            client_id="gateway", signing_key=key, identity_url=real_services.url_of(launcher, "identity"), http=http
        )
        return await cache.token_for("fines")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    real_services.add_load_arguments(parser, connections=32)
    args = parser.parse_args()
    kind = real_services.loadgen_kind(args)

    facts = proxy_hop.machine_facts()
    print(f"nproc {facts.get('nproc')}, {facts.get('cpu')}, {facts.get('python')}")
    print(f"packages: {facts.get('packages')}")
    assert DEMO_PLATE is not None  # the demo's car owner has a plate
    path = f"/demo/vehicles/{quote(DEMO_PLATE)}/fines"
    results = []
    processes = proxy_hop.Processes()
    with tempfile.TemporaryDirectory(prefix="citygate-bench-") as tmp:
        loadgen = proxy_hop.LoadGen(kind, args, processes, tmp)
        print(f"load generator: {loadgen.description}; warm-up {args.warmup} s, measured {args.duration} s per row\n")
        try:
            for transport in TRANSPORTS:
                data_root = Path(tmp) / transport
                launcher = start(data_root, transport)
                try:
                    gateway = real_services.url_of(launcher, "gateway") + path
                    assert httpx.get(gateway, timeout=10).status_code == 200
                    watch = {
                        "proxy": real_services.pid_of(launcher, "gateway"),
                        "department": real_services.pid_of(launcher, "fines"),
                    }
                    results.append(
                        proxy_hop.measure_row(
                            f"gateway->fines ({transport})",
                            gateway,
                            loadgen,
                            args.warmup,
                            args.duration,
                            watch,
                            headers={"X-Request-ID": "bench"},
                        )
                    )
                    if transport == TRANSPORTS[0]:
                        token = asyncio.run(token_as_gateway(launcher, data_root))
                        fines = real_services.url_of(launcher, "fines") + path.removeprefix("/demo")
                        results.insert(
                            0,
                            proxy_hop.measure_row(
                                "baseline: fines alone",
                                fines,
                                loadgen,
                                args.warmup,
                                args.duration,
                                {"department": real_services.pid_of(launcher, "fines")},
                                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "bench"},
                            ),
                        )
                finally:
                    launcher.stop()
        finally:
            processes.stop_all()

    base, reference = results[0]["rps"], results[1]["rps"]
    print(
        f"{'row':<28} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'cpu ms/req':>10} "
        f"{'vs httpx':>8} {'vs baseline':>11} {'cpu% other':>10}"
    )
    for row in results:
        errors = row["errors_status"] + row["errors_socket"]
        other = row["cpu_percent"].get("other", 0.0)
        print(
            f"{row['variant']:<28} {row['rps']:>7,.0f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {errors:>6} "
            f"{row.get('front_cpu_ms_per_req', 0):>10.3f} {row['rps'] / reference:>7.2f}x "
            f"{row['rps'] / base:>10.2f}x {other:>10.0f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"facts": facts, "results": results}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
