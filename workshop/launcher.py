"""``citygate up``: every service of one or both regimes as separate processes on loopback.

Children are told to die with the launcher (PR_SET_PDEATHSIG), get SIGTERM on Ctrl-C or
SIGTERM, and SIGKILL if they have not stopped in time, so no process outlives a run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from kernel import topology
from kernel.at_rest import private_directory, private_file, tighten_tree
from kernel.regime import Regime
from workshop.citizen_web.settings import CITIZEN_WEB, citizen_web_url
from workshop.citizen_web.settings import PORT_OFFSET as CITIZEN_WEB_PORT_OFFSET
from workshop.citizen_web.settings import TITLE as CITIZEN_WEB_TITLE
from workshop.citizen_web.settings import launch_environment as citizen_web_environment

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 10


@dataclass(frozen=True)
class Endpoint:
    service: str
    regime: Regime
    title: str
    port: int
    url: str

    def as_dict(self) -> dict:
        return {
            "service": self.service,
            "regime": self.regime.value,
            "title": self.title,
            "port": self.port,
            "url": self.url,
            "health": self.url + "/healthz",
        }


def endpoints(regimes: list[Regime], base_ports: dict[Regime, int] = topology.BASE_PORT) -> list[Endpoint]:
    return [
        Endpoint(
            spec.name,
            regime,
            spec.title,
            spec.port(regime, base_ports),
            topology.loopback_url(spec.name, regime, base_ports),
        )
        for regime in regimes
        for spec in topology.services_in(regime)
    ]


def launched_endpoints(regimes: list[Regime], base_ports: dict[Regime, int] = topology.BASE_PORT) -> list[Endpoint]:
    """The services, and with the rights regime the citizen's own web app (workshop/citizen_web)."""
    url = citizen_web_url(base_ports)
    web = Endpoint(
        CITIZEN_WEB, Regime.RIGHTS, CITIZEN_WEB_TITLE, base_ports[Regime.RIGHTS] + CITIZEN_WEB_PORT_OFFSET, url
    )
    return endpoints(regimes, base_ports) + ([web] if Regime.RIGHTS in regimes else [])


def die_with_parent() -> None:
    with contextlib.suppress(OSError):  # not Linux: Ctrl-C and SIGTERM handling still stop the children
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Launcher:
    def __init__(
        self,
        regimes: list[Regime],
        *,
        data_root: Path,
        base_ports: dict[Regime, int] = topology.BASE_PORT,
        demo: bool = True,
    ) -> None:
        self.regimes = regimes
        self.data_root = data_root
        self.base_ports = base_ports
        self.demo = demo
        self.endpoints = launched_endpoints(regimes, base_ports)
        self.processes: dict[Endpoint, subprocess.Popen] = {}
        self.background: list[subprocess.Popen] = []  # a population run (``populate``)
        self.log_dir = data_root / "logs"

    def environment(self, endpoint: Endpoint) -> dict[str, str]:
        env = dict(os.environ)
        if endpoint.service == CITIZEN_WEB:
            return env | citizen_web_environment(self.base_ports)
        spec = topology.service(endpoint.service)
        env.update(
            topology.service_environment(
                spec,
                endpoint.regime,
                lambda name: topology.loopback_url(name, endpoint.regime, self.base_ports),
                listen_port=endpoint.port,
                demo=self.demo,
            )
        )
        env[f"{spec.env_prefix}DATA_DIR"] = str(self.data_root / endpoint.regime.value / endpoint.service)
        if endpoint.regime is Regime.RIGHTS:  # the one origin whose page may use the services' APIs
            env[f"{spec.env_prefix}CITIZEN_WEB_ORIGIN"] = citizen_web_url(self.base_ports)
        return env

    @staticmethod
    def command(endpoint: Endpoint) -> list[str]:
        if endpoint.service == CITIZEN_WEB:
            return [sys.executable, "-m", "workshop.citizen_web"]
        return [sys.executable, "-m", "workshop.cli", "serve", endpoint.service]

    def start(self) -> None:
        # Services' logs and data are theirs alone (kernel.at_rest); each service tightens its own
        # data directory when it starts, the launcher what lies above them and the logs.
        private_directory(self.data_root)
        for regime in self.regimes:
            private_directory(self.data_root / regime.value)
        tighten_tree(self.log_dir)
        for endpoint in self.endpoints:
            log = private_file(
                self.log_dir / f"{endpoint.regime.value}-{endpoint.service}.log", os.O_WRONLY | os.O_APPEND
            )
            try:
                self.processes[endpoint] = subprocess.Popen(
                    self.command(endpoint),
                    env=self.environment(endpoint),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    # subprocess has no other way to ask for a parent-death signal
                    preexec_fn=die_with_parent,  # noqa: PLW1509
                )
            finally:
                os.close(log)

    def wait_until_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.endpoints)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for endpoint in sorted(pending, key=lambda e: e.port):
                    process = self.processes[endpoint]
                    if process.poll() is not None:
                        raise RuntimeError(
                            f"{endpoint.regime.value} {endpoint.service} exited with code {process.returncode}; "
                            f"see {self.log_dir / f'{endpoint.regime.value}-{endpoint.service}.log'}"
                        )
                    try:
                        if client.get(endpoint.url + "/healthz").status_code == 200:
                            pending.discard(endpoint)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    names = ", ".join(f"{e.regime.value}/{e.service}" for e in pending)
                    raise TimeoutError(f"not healthy after {timeout:.0f}s: {names}")
                if pending:
                    time.sleep(0.2)

    def populate(self, citizens: int) -> subprocess.Popen:
        """``citygate populate`` against these services, in the background, its progress on this
        terminal; stopped with them."""
        regime = "both" if len(self.regimes) > 1 else self.regimes[0].value
        command = [sys.executable, "-m", "workshop.cli", "populate", "--citizens", str(citizens), "--regime", regime]
        command += ["--data-dir", str(self.data_root), "--base-port", str(self.base_ports[Regime.PLATFORM])]
        # subprocess has no other way to ask for a parent-death signal
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)  # noqa: PLW1509
        self.background.append(process)
        return process

    def stop(self) -> None:
        for process in self.background:
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for process in self.background:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def any_exited(self) -> Endpoint | None:
        return next((e for e, p in self.processes.items() if p.poll() is not None), None)
