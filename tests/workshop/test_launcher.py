"""``citygate up`` as a user runs it: real processes on real ports, then Ctrl-C, then nothing left."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from kernel import topology
from kernel.regime import Regime
from tests.fixtures.files import assert_private_tree
from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.processes import CITYGATE, assert_all_exit, base_port, citygate_up, free_port_block
from workshop.launcher import web_apps_for

pytestmark = pytest.mark.processes


def wait_for_logs(log_dir: Path, marker: str, timeout: float = 10) -> str:
    """Every log file's text, once ``marker`` is in it (an access line is written after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        logs = "\n".join(path.read_text(encoding="utf-8") for path in sorted(log_dir.glob("*.log")))
        if marker in logs or time.monotonic() > deadline:
            assert marker in logs
            return logs
        time.sleep(0.2)


def test_citygate_up_starts_both_regimes_serves_the_skeleton_and_stops_without_orphans(tmp_path):
    # a log an older version left readable by everyone
    older_log = tmp_path / "var" / "logs" / "rights-identity.log"
    older_log.parent.mkdir(parents=True)
    older_log.write_text("")
    older_log.chmod(0o644)
    with citygate_up(tmp_path) as (process, output, children):
        listed = json.loads(
            subprocess.run(
                [CITYGATE, "endpoints", "--json", "--base-port", base_port(process)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        started_web_apps = web_apps_for(list(Regime))  # the stage, and the citizen's app once installed
        assert len(children) == len(listed) + len(started_web_apps)
        assert len(listed) == sum(len(topology.services_in(r)) for r in Regime)
        # forked from the launcher (workshop/forked.py), each named as `citygate serve` would be
        titles = {Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode() for pid in children}
        assert titles == {f"citygate serve {e['service']} --regime {e['regime']}" for e in listed} | {
            f"citygate serve {app.name}" for app in started_web_apps
        }
        # the stage's address is the first address it prints, before the services' table
        stage = f"http://127.0.0.1:{int(base_port(process)) - 100}/"
        addresses = [line for line in output if "http://" in line]
        assert addresses[0] == f"Open the stage: {stage}", output
        with httpx.Client(timeout=10) as client:
            page = client.get(stage, params={"persona": "li-wei"})
        assert page.status_code == 200 and page.text.count('<iframe class="phone"') == 2
        assert page.headers["content-security-policy"].count("frame-ancestors 'none'") == 1
        with httpx.Client(timeout=10) as client:
            for endpoint in listed:
                health = client.get(endpoint["health"])
                assert health.status_code == 200, endpoint
                assert health.json()["regime"] == endpoint["regime"]
            for regime in Regime:
                gateway = next(e for e in listed if e["service"] == "gateway" and e["regime"] == regime.value)
                response = client.get(f"{gateway['url']}/demo/vehicles/{quote(DEMO_PLATE)}/fines")
                assert response.status_code == 200, response.text
                assert len(response.json()["fines"]) == 2
        assert any("platform: gateway -> fines" in line and "2 fines" in line for line in output)
        # the services' logs name the routes asked, never the plate asked about (nor its URL form)
        logs = wait_for_logs(tmp_path / "var" / "logs", "/vehicles/{plate}/fines")
        assert DEMO_PLATE not in logs and quote(DEMO_PLATE) not in logs
        assert any("rights: gateway -> fines" in line and "2 fines" in line for line in output)
        for regime in Regime:
            assert (tmp_path / "var" / regime.value / "identity" / "keys" / "signing-key.pem").exists()
        # secrets at rest: databases (with SQLite's -wal and -shm), keys and logs are the services' alone
        names = {path.relative_to(tmp_path / "var").as_posix() for path in assert_private_tree(tmp_path / "var")}
        for regime in Regime:
            assert {
                f"{regime.value}/identity/identity.db-wal",
                f"{regime.value}/identity/identity.db-shm",
                f"{regime.value}/identity/keys/signing-key.pem",
                f"logs/{regime.value}-gateway.log",
            } <= names

        process.send_signal(signal.SIGINT)  # what Ctrl-C delivers to the launcher
        assert process.wait(timeout=30) == 0
    assert_all_exit(children, timeout=10)


def test_citygate_up_runs_a_population_in_the_background_and_stops_it_too(tmp_path):
    with citygate_up(tmp_path, "--regime", "rights", "--population", "3") as (process, output, children):
        assert any("a population of 3 residents" in line for line in output)
        truth = tmp_path / "var" / "population" / "truth.json"
        deadline = time.monotonic() + 90
        while not (truth.exists() and json.loads(truth.read_text())["journeys"]):
            assert time.monotonic() < deadline, "the background population recorded no journey in 90 s"
            time.sleep(0.5)
        assert stat.S_IMODE(truth.stat().st_mode) == 0o600
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    assert_all_exit(children, timeout=10)  # the population's process among them


def test_a_killed_launcher_takes_its_services_with_it(tmp_path):
    with citygate_up(tmp_path, "--regime", "rights") as (process, _, children):
        assert len(children) == len(topology.services_in(Regime.RIGHTS)) + len(web_apps_for([Regime.RIGHTS]))
        process.kill()  # no chance to clean up: the children must notice on their own
        process.wait(timeout=10)
    assert_all_exit(children, timeout=15)


def test_a_service_that_cannot_start_stops_the_launch_with_a_clear_message(tmp_path):
    base = free_port_block(200)
    env = {**os.environ, "CITYGATE_FINES_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"}
    result = subprocess.run(
        [CITYGATE, "up", "--regime", "platform", "--base-port", str(base), "--data-dir", str(tmp_path / "var")],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "platform fines exited" in result.stderr and "platform-fines.log" in result.stderr
