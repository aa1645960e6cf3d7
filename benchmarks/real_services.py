"""What the benchmarks on real ``citygate serve`` processes share: where a launched service listens, its
process, and the load generator's command-line options (the load itself is ``proxy_hop.py``'s)."""

from __future__ import annotations

import argparse

from benchmarks import proxy_hop
from workshop.launcher import Launcher


def url_of(launcher: Launcher, service: str) -> str:
    return next(e.url for e in launcher.endpoints if e.service == service)


def pid_of(launcher: Launcher, service: str) -> int:
    return next(p.pid for e, p in launcher.processes.items() if e.service == service)


def add_load_arguments(parser: argparse.ArgumentParser, *, connections: int) -> None:
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", "-c", type=int, default=connections)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=5)
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--json", metavar="PATH")


def loadgen_kind(args: argparse.Namespace) -> str:
    """wrk where installed (``make benchmark`` installs it), else the Python load generator."""
    if args.loadgen != "auto":
        return str(args.loadgen)
    return "wrk" if proxy_hop.shutil.which("wrk") else "python"
