#!/usr/bin/env python3
"""The platform gateway's read paths over real processes, against a bare FastAPI endpoint (issue 17).

    load generator -> gateway  GET /healthz
                   -> gateway  GET /city-services/fines   -> fines GET /citizens/{subject}/fines
                   -> gateway  GET /wallet
                   -> gateway  GET /me/history            (after every lookup of this run: it grows)
    baseline:         a bare FastAPI endpoint (benchmarks/proxy_hop.py's department), same machine, same run

The services are the real ones: ``citygate serve`` processes of the platform regime, demo data,
SQLite, started by the launcher on free loopback ports. The persona Li Wei logs in through the
identity provider's pages and agrees to the user agreement, as the walkthrough does; the load
presents the session as ``Authorization: Bearer <session id>`` (the gateway accepts both). Each row
reports req/s, p50/p99 and the CPU per request of the gateway and of the department (read from
/proc around the measured run), and the ratio to the baseline of the same run. Load generation,
CPU sampling and warm-up come from ``proxy_hop.py`` (wrk where installed, else a Python load
generator in its own process).

    python benchmarks/journeys.py [--duration 10] [--warmup 2] [--connections 8] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import proxy_hop, real_services
from kernel import topology
from kernel.browser_sessions import cookie_name
from kernel.regime import Regime
from services.fines.demo import CAR_OWNER
from superapp_gateway.sessions import SESSION_COOKIE
from tests.fixtures.processes import free_port_block
from workshop.launcher import Launcher
from workshop.super_app import log_in_to_super_app

# what the platform's fines journey reaches (the fines worker reports to the credit platform)
SERVICES = {"identity", "gateway", "fines", "credit"}


def start(data_root: Path) -> Launcher:
    base = free_port_block(100)
    launcher = Launcher([Regime.PLATFORM], data_root=data_root, base_ports=topology.base_ports_from(base))
    launcher.endpoints = [e for e in launcher.endpoints if e.service in SERVICES]
    launcher.start()
    launcher.wait_until_healthy(timeout=120)
    return launcher


async def session_of_li_wei(gateway: str) -> str:
    """Li Wei's super-app session id: logged in through the identity provider, agreement agreed."""
    async with httpx.AsyncClient(timeout=30) as browser:
        await log_in_to_super_app(browser, gateway, username=CAR_OWNER.handle, password=CAR_OWNER.password)
        name = cookie_name(SESSION_COOKIE, Regime.PLATFORM.value, https=False)
        cookie = next((c for c in browser.cookies.jar if c.name == name), None)
        if cookie is None or cookie.value is None:
            raise RuntimeError("the gateway set no session cookie")
        return cookie.value


def start_baseline(processes: proxy_hop.Processes, tmp: str) -> tuple[str, int]:
    """The bare FastAPI endpoint of benchmarks/proxy_hop.py, in its own process."""
    port = proxy_hop.free_port()
    log, info = os.path.join(tmp, "baseline.log"), os.path.join(tmp, "baseline.json")
    script = str(Path(proxy_hop.__file__).resolve())
    proc = processes.start([sys.executable, script, "serve-department", "--port", str(port), "--info-file", info], log)
    url = f"http://{proxy_hop.HOST}:{port}/vehicles/{proxy_hop.BENCH_PLATE}/fines"
    proxy_hop.wait_ready(proc, url, proxy_hop.bench_headers(), log)
    return url, proc.pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    real_services.add_load_arguments(parser, connections=8)
    args = parser.parse_args()
    kind = real_services.loadgen_kind(args)

    facts = proxy_hop.machine_facts()
    print(f"nproc {facts.get('nproc')}, {facts.get('cpu')}, {facts.get('python')}")
    results: list[dict[str, Any]] = []
    processes = proxy_hop.Processes()
    with tempfile.TemporaryDirectory(prefix="citygate-bench-") as tmp:
        loadgen = proxy_hop.LoadGen(kind, args, processes, tmp)
        print(f"load generator: {loadgen.description}; warm-up {args.warmup} s, measured {args.duration} s per row\n")
        launcher = start(Path(tmp) / "var")
        try:
            baseline_url, baseline_pid = start_baseline(processes, tmp)
            gateway = real_services.url_of(launcher, "gateway")
            session = asyncio.run(session_of_li_wei(gateway))
            citizen = {"Authorization": f"Bearer {session}", "X-Request-ID": "bench"}
            watch = {
                "gateway": real_services.pid_of(launcher, "gateway"),
                "fines": real_services.pid_of(launcher, "fines"),
            }
            rows: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
                ("baseline: bare FastAPI", baseline_url, proxy_hop.bench_headers(), {"department": baseline_pid}),
                ("gateway /healthz", gateway + "/healthz", {"X-Request-ID": "bench"}, watch),
                ("gateway fines lookup", gateway + "/city-services/fines", citizen, watch),
                ("gateway /wallet", gateway + "/wallet", citizen, watch),
                ("gateway /me/history", gateway + "/me/history", citizen, watch),
            ]
            for name, url, headers, watched in rows:
                answer = httpx.get(url, headers=headers, timeout=30)
                if answer.status_code != 200:
                    raise RuntimeError(f"{name}: GET {url} answered {answer.status_code}: {answer.text[:300]}")
                print(f"... measuring {name}", file=sys.stderr, flush=True)
                row = proxy_hop.measure_row(name, url, loadgen, args.warmup, args.duration, watched, headers)
                row["response_bytes"] = len(answer.content)
                results.append(row)
        finally:
            launcher.stop()
            processes.stop_all()

    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"facts": facts, "results": results}, indent=2, default=str))
    return 0


def render(results: list[dict[str, Any]]) -> str:
    base = results[0]["rps"]
    lines = [
        f"{'row':<24} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>8} {'errors':>6} {'bytes':>7} "
        f"{'gateway ms/req':>14} {'fines ms/req':>12} {'vs baseline':>11}"
    ]
    for row in results:
        errors = row["errors_status"] + row["errors_socket"]
        per_request = {
            role: 1e3 * seconds / row["requests"] if row["requests"] else 0.0
            for role, seconds in row["cpu_seconds"].items()
        }
        gateway = per_request.get("gateway", per_request.get("department", 0.0))
        lines.append(
            f"{row['variant']:<24} {row['rps']:>7,.0f} {row['p50_ms']:>7.2f} {row['p99_ms']:>8.2f} {errors:>6} "
            f"{row['response_bytes']:>7,} {gateway:>14.3f} {per_request.get('fines', 0.0):>12.3f} "
            f"{row['rps'] / base:>10.3f}x"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
