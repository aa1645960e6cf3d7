"""``citygate populate --citizens N [--regime platform|rights|both] [--seed S]``: a population run
against the running services (``citygate up``: the addresses from the topology, the operators'
secrets from the data directory), with a progress bar and a summary table at the end."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

import httpx
from rich.console import Console

from kernel import topology
from kernel.operators import OPERATOR_SECRET_FILE
from kernel.regime import Regime
from kernel.resident_id import CHINA_STANDARD_TIME
from workshop.population.intake import OPERATED
from workshop.population.populate import PopulationError, populate
from workshop.population.progress import Bars, summary_table
from workshop.population.runner import Deployment

MAX_CITIZENS = 100_000


def local_deployment(regime: Regime, data_root: Path, base_ports: dict[Regime, int]) -> Deployment:
    """The deployment ``citygate up --data-dir data_root`` starts: loopback addresses, and each
    service's data directory at ``data_root/<regime>/<service>`` (its keys in ``keys/``)."""
    services = topology.services_in(regime)
    keys_dirs = {spec.name: data_root / regime.value / spec.name / "keys" for spec in services}
    missing = [name for name in OPERATED if not (keys_dirs[name] / OPERATOR_SECRET_FILE).exists()]
    if missing:
        raise PopulationError(
            f"no {regime.value} {', '.join(missing)} service has started with --data-dir {data_root} "
            "(its operator secret is missing): start them with `citygate up` first"
        )
    urls = {spec.name: topology.loopback_url(spec.name, regime, base_ports) for spec in services}
    return Deployment(regime, urls, keys_dirs)


def _answering(deployment: Deployment) -> list[str]:
    """The services of ``deployment`` that do not answer /healthz (populate reports, then carries on)."""
    silent = []
    for name, url in deployment.urls.items():
        try:
            httpx.get(f"{url}/healthz", timeout=3).raise_for_status()
        except httpx.HTTPError:
            silent.append(name)
    return silent


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    if not 1 <= args.citizens <= MAX_CITIZENS:
        console.print(f"--citizens must be between 1 and {MAX_CITIZENS:,}")
        return 2
    regimes = list(Regime) if args.regime == "both" else [Regime(args.regime)]
    data_root = Path(args.data_dir)
    base_ports = topology.base_ports_from(args.base_port)
    try:
        deployments = [local_deployment(regime, data_root, base_ports) for regime in regimes]
    except PopulationError as error:
        console.print(f"citygate populate: {error}")
        return 1
    for deployment in deployments:
        if silent := _answering(deployment):
            console.print(
                f"[yellow]{deployment.regime.value}: {', '.join(silent)} not answering; the journeys that need "
                "them will be reported as failed[/yellow]"
            )
    today = date.fromisoformat(args.today) if args.today else _today_in_china()
    try:
        result = asyncio.run(
            populate(
                deployments,
                citizens=args.citizens,
                seed=args.seed,
                today=today,
                data_root=data_root,
                reporter=Bars(console),
            )
        )
    except PopulationError as error:
        console.print(f"citygate populate: {error}")
        return 1
    # the table is wide: a terminal shows it as wide as it is, a file or pipe gets it unwrapped
    (Console() if sys.stdout.isatty() else Console(width=160)).print(summary_table(result.runs))
    failures = [f"{regime}: {failure}" for regime, report in result.intake.items() for failure in report.failures]
    failed = sum(1 for run in result.runs for record in run.records if record.outcome == "failed")
    for failure in failures[:10]:
        console.print(f"[red]fact not recorded[/red] {failure}")
    if failed:
        console.print(f"[red]{failed} journeys failed[/red] (their reasons are in the ground truth's journeys)")
    return 1 if failures or failed else 0


def _today_in_china() -> date:
    from datetime import datetime

    return datetime.now(CHINA_STANDARD_TIME).date()


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("populate", help="a synthetic population through the real journeys (for the report)")
    parser.add_argument("--citizens", type=int, required=True, help=f"how many residents (1-{MAX_CITIZENS:,})")
    parser.add_argument("--regime", choices=["both", *Regime], default="both")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same people and journeys")
    parser.add_argument("--data-dir", default="var", help="the data directory `citygate up` was given")
    parser.add_argument("--base-port", type=int, default=topology.BASE_PORT[Regime.PLATFORM])
    parser.add_argument("--today", help="the date the population lives on (YYYY-MM-DD; default today in China)")
    parser.set_defaults(handler=run)
