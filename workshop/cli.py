"""The ``citygate`` command."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from kernel import topology
from kernel.regime import Regime

# a population whose report has figures within about a minute of `make up` on a 2-core machine
# (docs/benchmarks.md: journeys per second)
DEFAULT_POPULATION = 100

SKELETON_PLATE = "粤A12345"


def _regimes(choice: str) -> list[Regime]:
    return list(Regime) if choice == "both" else [Regime(choice)]


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kernel.at_rest import restrict_new_files
    from kernel.observability import configure_logging

    restrict_new_files()  # whatever the service or its libraries create: not readable by others
    spec = topology.service(args.service)
    settings_class = spec.settings_class()
    settings = settings_class(regime=Regime(args.regime)) if args.regime else settings_class()
    configure_logging(settings.log_level, service=f"{settings.regime.value}/{settings.service_name}")
    app = spec.build_app(settings)
    assert settings.port is not None  # ServiceSettings fills it in from the topology
    # proxy_headers off: no proxy stands in front, so X-Forwarded-For is the caller's word, and the
    # identity service's per-address guessing limit must see the real peer (identity/attempts.py)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        proxy_headers=False,
    )
    return 0


def show_endpoints(args: argparse.Namespace) -> int:
    from workshop.launcher import launched_endpoints

    found = launched_endpoints(_regimes(args.regime), topology.base_ports_from(args.base_port))
    if args.json:
        print(json.dumps([endpoint.as_dict() for endpoint in found], indent=2))
    else:
        _print_table(found)
    return 0


def _print_table(found) -> None:
    print(f"{'regime':<9} {'service':<14} {'url':<24} what")
    for endpoint in found:
        print(f"{endpoint.regime.value:<9} {endpoint.service:<14} {endpoint.url:<24} {endpoint.title}")


def up(args: argparse.Namespace) -> int:
    from kernel.at_rest import restrict_new_files
    from workshop.launcher import Launcher

    restrict_new_files()  # inherited by every service the launcher starts
    launcher = Launcher(
        _regimes(args.regime), data_root=Path(args.data_dir), base_ports=topology.base_ports_from(args.base_port)
    )

    def request_stop(_signum, _frame):
        raise KeyboardInterrupt

    # Explicitly, for SIGINT too: a launcher started from a script may inherit SIGINT as
    # ignored, and its children (uvicorn) would still stop on Ctrl-C without it.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, request_stop)
    try:
        launcher.start()
        print(f"starting {len(launcher.endpoints)} services (logs in {launcher.log_dir}) ...", flush=True)
        launcher.wait_until_healthy(timeout=args.timeout)
        print("every service is healthy; demo data is seeded.\n")
        _print_table(launcher.endpoints)
        print()
        _check_walking_skeleton(launcher)
        if args.population:
            launcher.populate(args.population)
            print(
                f"\na population of {args.population} residents goes through the journeys in the background "
                f"(its ground truth in {launcher.data_root / 'population'}; `citygate report` when it is done).",
                flush=True,
            )
        print("\nPress Ctrl-C to stop everything.", flush=True)
        while (exited := launcher.any_exited()) is None:
            time.sleep(0.5)
        print(f"{exited.regime.value} {exited.service} stopped unexpectedly; stopping the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except (RuntimeError, TimeoutError) as error:
        print(f"citygate up failed: {error}", file=sys.stderr)
        return 1
    finally:
        launcher.stop()
        print("all services stopped.", flush=True)


def _check_walking_skeleton(launcher) -> None:
    for endpoint in launcher.endpoints:
        if endpoint.service != "gateway":
            continue
        url = f"{endpoint.url}/demo/vehicles/{quote(SKELETON_PLATE)}/fines"
        response = httpx.get(url, timeout=10)
        outcome = (
            f"{len(response.json()['fines'])} fines" if response.status_code == 200 else f"HTTP {response.status_code}"
        )
        print(f"{endpoint.regime.value}: gateway -> fines for {SKELETON_PLATE}: {outcome}   {url}")
    for endpoint in launcher.endpoints:
        if endpoint.service == "gateway":
            print(f"{endpoint.regime.value}: log in to the super-app as a persona: {endpoint.url}/login")


def ledger_verify(args: argparse.Namespace) -> int:
    import asyncio

    from consent.verify import read_json, run

    return asyncio.run(run(args.url, saved=read_json(args.tree_head), jwks=read_json(args.jwks), quiet=args.quiet))


def ledger_tree_head(args: argparse.Namespace) -> int:
    response = httpx.get(args.url + "/ledger/tree-head", timeout=10)
    response.raise_for_status()
    print(json.dumps(response.json(), indent=2))
    return 0


def _add_ledger_commands(commands) -> None:
    ledger = commands.add_parser("ledger", help="audit the consent service's transparency ledger")
    actions = ledger.add_subparsers(dest="action", required=True)
    default_url = topology.loopback_url("consent", Regime.RIGHTS)
    verify = actions.add_parser("verify", help="download the whole log and check it against a signed tree head")
    verify.add_argument("--url", default=default_url, help=f"the consent service (default {default_url})")
    verify.add_argument(
        "--tree-head",
        help="a tree head saved earlier (citygate ledger tree-head > FILE); default: the log's current one",
    )
    verify.add_argument("--jwks", help="the log's public key set, pinned from a file; default: fetched from the log")
    verify.add_argument("--quiet", action="store_true", help="no progress display")
    verify.set_defaults(handler=ledger_verify)
    head = actions.add_parser("tree-head", help="print the log's current signed tree head (save it to audit later)")
    head.add_argument("--url", default=default_url)
    head.set_defaults(handler=ledger_tree_head)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citygate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up_parser = commands.add_parser("up", help="start every service with demo data; Ctrl-C stops them all")
    up_parser.add_argument("--regime", choices=["both", *Regime], default="both")
    up_parser.add_argument("--data-dir", default="var", help="where each service keeps its database and keys")
    up_parser.add_argument(
        "--base-port",
        type=int,
        default=topology.BASE_PORT[Regime.PLATFORM],
        help="platform regime's first port; the rights regime uses base+100",
    )
    up_parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for every /healthz")
    up_parser.add_argument(
        "--population",
        type=int,
        default=DEFAULT_POPULATION,
        help=f"residents `citygate populate` runs through the journeys once everything is up (default "
        f"{DEFAULT_POPULATION}; 0: none)",
    )
    up_parser.set_defaults(handler=up)

    serve_parser = commands.add_parser("serve", help="run one service in this process (settings from env)")
    serve_parser.add_argument("service", choices=list(topology.BY_NAME))
    serve_parser.add_argument("--regime", choices=list(Regime), default=None)
    serve_parser.set_defaults(handler=serve)

    endpoints_parser = commands.add_parser("endpoints", help="the services' addresses, as a table or JSON")
    endpoints_parser.add_argument("--regime", choices=["both", *Regime], default="both")
    endpoints_parser.add_argument("--base-port", type=int, default=topology.BASE_PORT[Regime.PLATFORM])
    endpoints_parser.add_argument("--json", action="store_true")
    endpoints_parser.set_defaults(handler=show_endpoints)
    _add_ledger_commands(commands)
    from workshop import migrate, walkthrough
    from workshop.population import command as populate
    from workshop.report import command as report

    migrate.add_command(commands)
    walkthrough.add_command(commands)
    populate.add_command(commands)
    report.add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
