"""``citygate up``: every service of one or both regimes as separate processes on loopback, then the
browser-facing apps (the stage and the citizen's own app, ``workshop.web_apps``) once the services are
healthy.

Children are told to die with the launcher (PR_SET_PDEATHSIG), get SIGTERM on Ctrl-C or
SIGTERM, and SIGKILL if they have not stopped in time, so no process outlives a run.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from kernel import topology
from kernel.at_rest import private_directory, private_file, tighten_tree
from kernel.regime import Regime
from workshop.forked import ForkedChild, fork_serve, preload
from workshop.web_apps import CITIZEN_WEB, STAGE, WEB_APPS, WebAppSpec, stage_environment, web_app_environment

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


def web_apps_for(regimes: list[Regime]) -> list[WebAppSpec]:
    """The stage always; the citizen's own app with the rights regime, once its package is installed."""
    wanted = [app for app in WEB_APPS if app is not CITIZEN_WEB or Regime.RIGHTS in regimes]
    return [app for app in wanted if importlib.util.find_spec(app.package) is not None]


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
        self.endpoints = endpoints(regimes, base_ports)
        self.processes: dict[Endpoint, ForkedChild] = {}
        self.web_apps = web_apps_for(regimes)
        self.web_processes: dict[WebAppSpec, ForkedChild] = {}
        self.background: list[subprocess.Popen] = []  # a population run (``populate``)
        self.log_dir = data_root / "logs"

    def environment(self, endpoint: Endpoint) -> dict[str, str]:
        spec = topology.service(endpoint.service)
        env = dict(os.environ)
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
        env.update(
            stage_environment(
                spec.settings_class(),
                spec.env_prefix,
                collector_url=self.stage_url,
                stage_origin=self.stage_url,
                # the one origin whose page may use the services' APIs
                citizen_web_origin=CITIZEN_WEB.url(self.base_ports) if endpoint.regime is Regime.RIGHTS else None,
            )
        )
        return env

    @property
    def stage_url(self) -> str:
        return STAGE.url(self.base_ports)

    def web_environment(self, app: WebAppSpec) -> dict[str, str]:
        env = dict(os.environ)
        env.update(web_app_environment(app, self.base_ports))
        env.update(
            stage_environment(
                app.settings_class(), app.env_prefix, collector_url=self.stage_url, stage_origin=self.stage_url
            )
        )
        if app is STAGE:
            env[f"{app.env_prefix}DATA_DIR"] = str(self.data_root)
        return env

    def start(self) -> None:
        # Services' logs and data are theirs alone (kernel.at_rest); each service tightens its own
        # data directory when it starts, the launcher what lies above them and the logs.
        private_directory(self.data_root)
        for regime in self.regimes:
            private_directory(self.data_root / regime.value)
        tighten_tree(self.log_dir)
        self.preload()
        for endpoint in self.endpoints:
            self.processes[endpoint] = self._serve(
                endpoint.service,
                self.environment(endpoint),
                f"{endpoint.regime.value}-{endpoint.service}.log",
                title=f"citygate serve {endpoint.service} --regime {endpoint.regime.value}",
            )

    def start_web_apps(self) -> None:
        """The stage and the citizen's own app, each ``citygate serve <name>`` (after the services: the
        stage reads their databases, the citizen's app calls them)."""
        for app in self.web_apps:
            self.web_processes[app] = self._serve(
                app.name, self.web_environment(app), f"{app.name}.log", title=f"citygate serve {app.name}"
            )

    def _serve(self, name: str, environment: dict[str, str], log_name: str, *, title: str) -> ForkedChild:
        """``citygate serve <name>`` in a process of its own (forked from this one, which has imported its
        code: workshop/forked.py), its output to its private log, dying with the launcher."""
        log = private_file(self.log_dir / log_name, os.O_WRONLY | os.O_APPEND)
        try:
            return fork_serve(name, environment, log, title=title, before=die_with_parent)
        finally:
            os.close(log)

    def preload(self) -> None:
        """Import every service's and web app's code once, before the first fork (workshop/forked.py)."""
        packages = [topology.service(endpoint.service).package for endpoint in self.endpoints]
        preload(dict.fromkeys([*packages, *(app.package for app in self.web_apps)]))

    def wait_until_web_apps_answer(self, timeout: float = 30.0) -> None:
        """Each web app answers HTTP at its address (any status: the citizen's app has no /healthz)."""

        def answers(client: httpx.Client, app: WebAppSpec) -> bool:
            client.get(app.url(self.base_ports) + "/")
            return True

        self._wait_for(
            {app: (process, app.name, f"{app.name}.log") for app, process in self.web_processes.items()},
            answers,
            timeout,
            "not answering",
        )

    def wait_until_healthy(self, timeout: float = 90.0) -> None:
        def healthy(client: httpx.Client, endpoint: Endpoint) -> bool:
            return client.get(endpoint.url + "/healthz").status_code == 200

        self._wait_for(
            {
                endpoint: (
                    process,
                    f"{endpoint.regime.value}/{endpoint.service}",
                    f"{endpoint.regime.value}-{endpoint.service}.log",
                )
                for endpoint, process in self.processes.items()
            },
            healthy,
            timeout,
            "not healthy",
        )

    def _wait_for(
        self,
        started: dict[Any, tuple[ForkedChild, str, str]],
        ready: Callable[[httpx.Client, Any], bool],
        timeout: float,
        failing: str,
    ) -> None:
        """Until ``ready`` holds for each started process (each: its process, its name, its log's name);
        one that exits meanwhile, or the timeout, stops the wait with a message naming them."""
        deadline = time.monotonic() + timeout
        pending = dict(started)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for key, (process, name, log_name) in sorted(pending.items(), key=lambda item: item[1][1]):
                    if process.poll() is not None:
                        shown, log = name.replace("/", " "), self.log_dir / log_name
                        raise RuntimeError(f"{shown} exited with code {process.returncode}; see {log}")
                    try:
                        if ready(client, key):
                            del pending[key]
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    names = ", ".join(name for _, name, _ in pending.values())
                    raise TimeoutError(f"{failing} after {timeout:.0f}s: {names}")
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
        everything: list[ForkedChild | subprocess.Popen] = [*self.web_processes.values(), *self.processes.values()]
        for child in everything:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in [*everything, *self.background]:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def any_exited(self) -> str | None:
        """The name of a service or web app that has stopped, if any."""
        for endpoint, process in self.processes.items():
            if process.poll() is not None:
                return f"{endpoint.regime.value} {endpoint.service}"
        return next((app.name for app, process in self.web_processes.items() if process.poll() is not None), None)
