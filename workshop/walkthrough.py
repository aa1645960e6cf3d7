"""``citygate walkthrough JOURNEY --regime platform|rights|both``: a journey against the running
services (``citygate up``), as a demo persona, told step by step (``workshop.narration``).

Every step is a real call to the gateway's REST API (or, in the rights regime, from the citizen's
own app through the gateway's blind courier); what each party "received" is read from the
answers, not written in advance. The walkthrough exits non-zero if any step fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import httpx

from kernel import topology
from kernel.regime import Regime
from workshop.journeys import JOURNEYS
from workshop.narration import Narrator


async def walk(journey: str, regime: Regime, base_ports: dict[Regime, int], narrator: Narrator) -> bool:
    urls = {spec.name: topology.loopback_url(spec.name, regime, base_ports) for spec in topology.services_in(regime)}
    narrator.heading(f"{journey} — {regime.value} regime (super-app at {urls['gateway']})")
    story = JOURNEYS[journey]
    async with httpx.AsyncClient(base_url=urls["gateway"], timeout=15) as browser:
        state: dict[str, Any] = {"browser": browser, "urls": urls, "tokens": {}}
        return await narrator.run(story.steps(regime), state, label=f"{journey} ({regime.value})")


def run(args: argparse.Namespace) -> int:
    journeys = list(JOURNEYS) if args.journey == "all" else [args.journey]
    regimes = list(Regime) if args.regime == "both" else [Regime(args.regime)]
    narrator = Narrator(colour=sys.stdout.isatty())
    base_ports = topology.base_ports_from(args.base_port)
    failed = [
        f"{journey} ({regime.value})"
        for journey in journeys
        for regime in regimes
        if not asyncio.run(walk(journey, regime, base_ports, narrator))
    ]
    narrator.summary()
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'every step succeeded'}")
    return 1 if failed else 0


def add_command(commands) -> None:
    parser = commands.add_parser("walkthrough", help="walk a demo persona through a journey, step by step")
    parser.add_argument("journey", choices=[*JOURNEYS, "all"])
    parser.add_argument("--regime", choices=["both", *Regime], default="both")
    parser.add_argument("--base-port", type=int, default=topology.BASE_PORT[Regime.PLATFORM])
    parser.set_defaults(handler=run)
