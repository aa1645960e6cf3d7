"""``citygate reset [--data-dir var] [--regime both] [--base-port 8100]``: the demo personas' state as seeded
again in the running services (``citygate up``), without restarting them, so the journeys can be replayed
for the next group (docs/journeys.md, "Replaying").

Each service with demo data answers its own operator's ``POST /demo/reset`` (kernel/demo_reset.py); the
secrets are read from the data directory, as ``citygate populate`` reads them. The credit platform goes
before the traffic police: their reset reports Chen Jun's fine afresh, which the credit platform's reset
would otherwise remove again. The pod and the consent ledger go last: the departments' resets do not call
them, and the ledger then forgets what the others' resets left in it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kernel import topology
from kernel.demo_reset import RESET_PATH
from kernel.operators import OPERATOR_SECRET_FILE, operator_headers, operator_secret
from kernel.regime import Regime

# the services with demo data, in the order they are reset (see the module's docstring)
RESET_ORDER = ("credit", "gateway", "identity", "appointments", "prescriptions", "fines", "pod", "consent")
RESET_TIMEOUT_SECONDS = 30.0
# What a reset's requests say they are: the stage leaves them out of the phones' diagrams
# (workshop/stage/step_traces.py); a label, not a control (the operator's secret is the control).
RESET_AGENT = "citygate-reset"
RESET_USER_AGENT = f"{RESET_AGENT}/1"


class ResetError(Exception):
    """A service could not be reset: not started with this data directory, not answering, or refusing."""


@dataclass(frozen=True)
class ServiceReset:
    regime: Regime
    service: str
    url: str
    done: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        what = ", ".join(f"{count} {kind}" for kind, count in self.done.items() if count) or "nothing to undo"
        return f"{self.regime.value:<9} {self.service:<14} reset: {what}"


def resettable(regime: Regime) -> list[str]:
    present = {spec.name for spec in topology.services_in(regime)}
    return [name for name in RESET_ORDER if name in present]


def _secret(data_root: Path, regime: Regime, service: str) -> str:
    keys_dir = data_root / regime.value / service / "keys"
    try:
        return operator_secret(keys_dir)
    except FileNotFoundError:
        raise ResetError(
            f"{regime.value} {service}: no operator secret in {keys_dir / OPERATOR_SECRET_FILE}; was it started "
            f"with `citygate up --data-dir {data_root}`?"
        ) from None


async def reset_service(
    http: httpx.AsyncClient, data_root: Path, regime: Regime, service: str, base_ports: dict[Regime, int]
) -> ServiceReset:
    url = topology.loopback_url(service, regime, base_ports)
    secret = _secret(data_root, regime, service)
    try:
        response = await http.post(url + RESET_PATH, headers=operator_headers(secret))
    except httpx.HTTPError as error:
        raise ResetError(
            f"{regime.value} {service} does not answer at {url} ({type(error).__name__}): is `citygate up` running "
            "with this --base-port? Nothing after it was reset."
        ) from error
    if response.status_code != 200:
        detail = response.json().get("detail", response.text) if response.content else ""
        raise ResetError(
            f"{regime.value} {service} at {url} refused the reset: HTTP {response.status_code} {detail} "
            "(a service started without demo data answers 404; another data directory's secret, 401)"
        )
    return ServiceReset(regime, service, url, dict(response.json().get("reset", {})))


async def reset_demo(
    data_root: Path,
    regimes: Iterable[Regime],
    base_ports: dict[Regime, int] = topology.BASE_PORT,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[ServiceReset]:
    """Reset every demo service of ``regimes``, one after the other in ``RESET_ORDER``; the first failure
    stops it (``ResetError``). ``transport`` replaces the network (tests)."""
    done = []
    # labelled, so the stage does not draw a reset as a phone's step (workshop/stage/step_traces.py)
    headers = {"User-Agent": RESET_USER_AGENT}
    async with httpx.AsyncClient(timeout=RESET_TIMEOUT_SECONDS, transport=transport, headers=headers) as http:
        for regime in regimes:
            for service in resettable(regime):
                done.append(await reset_service(http, data_root, regime, service, base_ports))
    return done


def run(args: argparse.Namespace) -> int:
    regimes = list(Regime) if args.regime == "both" else [Regime(args.regime)]
    try:
        done = asyncio.run(reset_demo(Path(args.data_dir), regimes, topology.base_ports_from(args.base_port)))
    except ResetError as error:
        print(f"citygate reset failed: {error}", file=sys.stderr)
        return 1
    for service in done:
        print(service.line())
    print("\nthe demo personas are as seeded again: every journey can be walked through again.")
    return 0


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "reset", help="give the demo personas their seeded state back, without restarting (replay the journeys)"
    )
    parser.add_argument("--data-dir", default="var", help="the data directory `citygate up` was given")
    parser.add_argument("--regime", choices=["both", *Regime], default="both")
    parser.add_argument("--base-port", type=int, default=topology.BASE_PORT[Regime.PLATFORM])
    parser.set_defaults(handler=run)
