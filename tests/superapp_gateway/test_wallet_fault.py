"""The wallet's promise under a real fault (docs/wallet.md, "Why exactly once"): the fines service
stops answering mid-payment, is killed and restarted (or merely resumed), and the payment still
completes exactly once — one debit in the wallet, one payment row at the traffic police.

Real processes on free loopback ports, platform regime: identity, gateway, fines and credit (fines
reports settlements to it), each started as ``citygate serve <service>`` with the environment
``kernel.topology.service_environment`` builds for a deployment, a data directory under
``tmp_path``, and a gateway that gives up on a department after 1 s and retries every 0.5 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from kernel import topology
from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from tests.fixtures.problems import assert_problem
from tests.fixtures.processes import free_port_block
from tests.fixtures.wallet import balance, pay
from workshop.super_app import log_in_to_super_app

pytestmark = pytest.mark.processes

REGIME = Regime.PLATFORM
SERVICES = ("identity", "credit", "fines", "gateway")
CAR_OWNER = by_handle("li-wei")
DEPARTMENT_TIMEOUT_SECONDS = 1.0
WALLET_RETRY_SECONDS = 0.5
HEALTH_TIMEOUT_SECONDS = 60
SETTLE_TIMEOUT_SECONDS = 30
STOP_GRACE_SECONDS = 10
# Each service process first asks the kernel to kill it when the test process dies (as
# workshop.launcher.die_with_parent does, but not in a preexec_fn, which is unsafe once the test
# has threads; and SIGKILL, not SIGTERM, which a frozen process would never act on), then becomes
# `python -m workshop.cli serve ...`: the same process, so the pid the test signals is the service's.
SERVE = """
import ctypes, os, signal, sys
try:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except OSError:
    pass  # not Linux: the test's own clean-up still stops it
os.execv(sys.executable, [sys.executable, "-m", "workshop.cli", *sys.argv[1:]])
"""


class Deployment:
    """The services as separate processes; a service can be frozen, resumed, killed and started again."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base_ports = topology.base_ports_from(free_port_block(10))
        self.started: list[tuple[str, subprocess.Popen, Path]] = []  # every process ever started, in order
        self.current: dict[str, subprocess.Popen] = {}
        (root / "logs").mkdir(parents=True, exist_ok=True)

    def url(self, name: str) -> str:
        return topology.loopback_url(name, REGIME, self.base_ports)

    def data_dir(self, name: str) -> Path:
        return self.root / "var" / name

    def environment(self, name: str) -> dict[str, str]:
        spec = topology.service(name)
        # nothing from the developer's own CITYGATE_* settings leaks in
        env = {key: value for key, value in os.environ.items() if not key.startswith("CITYGATE_")}
        env.update(
            topology.service_environment(
                spec, REGIME, self.url, listen_port=spec.port(REGIME, self.base_ports), demo=True
            )
        )
        env[f"{spec.env_prefix}DATA_DIR"] = str(self.data_dir(name))
        if name == "gateway":
            env[f"{spec.env_prefix}DEPARTMENT_TIMEOUT_SECONDS"] = str(DEPARTMENT_TIMEOUT_SECONDS)
            env[f"{spec.env_prefix}WALLET_RETRY_SECONDS"] = str(WALLET_RETRY_SECONDS)
        return env

    def start(self, name: str) -> subprocess.Popen:
        log_path = self.root / "logs" / f"{name}-{sum(1 for n, _, _ in self.started if n == name) + 1}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", SERVE, "serve", name, "--regime", REGIME.value],
                env=self.environment(name),
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.started.append((name, process, log_path))
        self.current[name] = process
        return process

    async def wait_until_healthy(self, *names: str, within: float = HEALTH_TIMEOUT_SECONDS) -> None:
        pending, deadline = set(names), time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            while pending:
                for name in sorted(pending):
                    if self.current[name].poll() is not None:
                        pytest.fail(f"{name} exited with code {self.current[name].returncode}")
                    try:
                        if (await client.get(self.url(name) + "/healthz")).status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    pytest.fail(f"not healthy after {within:.0f}s: {', '.join(sorted(pending))}")
                if pending:
                    await asyncio.sleep(0.2)

    def freeze(self, name: str) -> None:
        """SIGSTOP: the kernel still accepts connections and queues requests, nobody answers them."""
        self.current[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.current[name].send_signal(signal.SIGCONT)

    def kill(self, name: str) -> None:
        process = self.current[name]
        process.kill()  # SIGKILL ends a stopped process too
        process.wait(timeout=10)

    def stop_all(self) -> None:
        """Every process ever started: resumed (a stopped one cannot act on SIGTERM), SIGTERM, then
        SIGKILL after the grace period."""
        for _, process, _ in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for _, process, _ in self.started:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def log_lines(self, name: str) -> list[dict]:
        """Every JSON log line of every process of ``name``, in the order they were started."""
        lines = []
        for started_name, _, log_path in self.started:
            if started_name != name:
                continue
            for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue
        return lines

    def report(self, lines: int = 60) -> str:
        parts = []
        for _name, process, log_path in self.started:
            text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else "(no log)"
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(
                f"----- {log_path.name} (pid {process.pid}, exit {process.poll()}): last {lines} lines -----\n{tail}"
            )
        return "\n".join(parts)


@asynccontextmanager
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    """The four services, healthy; always stopped at the end, with their logs printed on failure."""
    running, failed = Deployment(tmp_path), True
    try:
        for name in SERVICES:
            running.start(name)
        started = time.monotonic()
        await running.wait_until_healthy(*SERVICES)
        print(f"{len(SERVICES)} services healthy after {time.monotonic() - started:.1f}s")
        yield running
        failed = False
    finally:
        running.stop_all()
        if failed:
            print(running.report())  # pytest shows a failed test's output


# --- the citizen's side --------------------------------------------------------------------------------


@asynccontextmanager
async def super_app(running: Deployment) -> AsyncIterator[httpx.AsyncClient]:
    gateway = running.url("gateway")
    async with httpx.AsyncClient(base_url=gateway, timeout=15.0, trust_env=False) as browser:
        await log_in_to_super_app(browser, gateway, username=CAR_OWNER.handle, password=DEMO_PASSWORD)
        yield browser


async def an_unpaid_fine(browser: httpx.AsyncClient) -> dict:
    response = await browser.get("/city-services/fines")
    assert response.status_code == 200, response.text
    unpaid = [fine for fine in response.json() if fine["status"] == "unpaid"]
    assert unpaid, response.json()
    return unpaid[0]


async def payment(browser: httpx.AsyncClient, payment_id: str) -> dict:
    response = await browser.get(f"/wallet/payments/{payment_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def until(browser: httpx.AsyncClient, payment_id: str, done, within: float) -> dict:
    """The payment once ``done(payment)`` holds, polled; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        current = await payment(browser, payment_id)
        if done(current):
            return current
        if time.monotonic() > deadline:
            pytest.fail(f"not there after {within:.0f}s: {current}")
        await asyncio.sleep(0.2)


async def pay_while_the_department_is_frozen(
    running: Deployment, browser: httpx.AsyncClient, fine: dict, key: str
) -> str:
    """Freezes fines, pays: a bounded 504 with the payment pending and debited once; leaves fines frozen
    once the background retry has queued another attempt at it. Returns the payment's id."""
    before = await balance(browser)
    running.freeze("fines")
    started = time.monotonic()
    response = await pay(browser, fine, key)
    waited = time.monotonic() - started
    problem = assert_problem(response, 504, "department-timeout")
    assert problem["payment_status"] == "pending" and problem["department"] == "fines", problem
    assert DEPARTMENT_TIMEOUT_SECONDS * 0.9 <= waited < DEPARTMENT_TIMEOUT_SECONDS + 4, waited
    print(f"504 department-timeout after {waited:.2f}s")
    payment_id = problem["payment_id"]
    assert await balance(browser) == before - fine["amount_cents"]
    # the gateway keeps answering, and its background task tries the frozen department again
    retried = await until(browser, payment_id, lambda p: p["attempts"] >= 2, within=10)
    assert retried["status"] == "pending" and retried["department_receipt"] is None, retried
    assert await balance(browser) == before - fine["amount_cents"]
    return payment_id


def payment_rows(running: Deployment, fine_id: int) -> list[tuple]:
    """The traffic police's own record of payments of this fine, read from its database."""
    connection = sqlite3.connect(f"file:{running.data_dir('fines') / 'fines.db'}?mode=ro", uri=True)
    try:
        return connection.execute(
            "SELECT payment_id, receipt_id, amount_cents FROM payment WHERE fine_id = ?", (fine_id,)
        ).fetchall()
    finally:
        connection.close()


def department_answers(running: Deployment) -> list[int]:
    """The status of every fine payment request that any fines process finished (its access log).

    The access log names the route, never the fine (issue 13, L6), so this counts the payments of
    every fine: each test here pays exactly one."""
    return [
        line["status"]
        for line in running.log_lines("fines")
        if line.get("msg") == "request"
        and line.get("method") == "POST"
        and line.get("path") == "/fines/{fine_id}/payments"
    ]


async def assert_paid_exactly_once(
    running: Deployment, browser: httpx.AsyncClient, fine: dict, key: str, payment_id: str, balance_before: int
) -> dict:
    settled = await until(browser, payment_id, lambda p: p["status"] != "pending", within=SETTLE_TIMEOUT_SECONDS)
    assert settled["status"] == "completed", settled
    assert settled["department_receipt"], settled
    assert await balance(browser) == balance_before - fine["amount_cents"]
    # the wallet holds one payment of this fine
    recent = (await browser.get("/wallet")).json()["payments"]
    assert [p["id"] for p in recent if p["reference"] == str(fine["id"])] == [payment_id], recent

    # the traffic police hold exactly one payment of it: this one, with the receipt the wallet kept
    assert payment_rows(running, fine["id"]) == [(payment_id, settled["department_receipt"], fine["amount_cents"])]
    # … and answered 201 ("taken now") exactly once, whatever else they answered (200: taken before)
    answers = department_answers(running)
    assert answers.count(201) == 1 and set(answers) <= {200, 201}, answers

    # the citizen's request again: the same payment as it stands, nothing debited or sent again
    again = await pay(browser, fine, key)
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["status"]) == (payment_id, "completed")
    assert await balance(browser) == balance_before - fine["amount_cents"]
    assert department_answers(running) == answers
    fines = (await browser.get("/city-services/fines")).json()
    assert next(f for f in fines if f["id"] == fine["id"])["status"] == "paid", fines
    return settled


# --- the acceptance checks -------------------------------------------------------------------------------


async def test_fines_killed_mid_payment_and_restarted_the_payment_completes_exactly_once(tmp_path):
    async with deployment(tmp_path) as running, super_app(running) as browser:
        fine = await an_unpaid_fine(browser)
        before = await balance(browser)
        key = f"fault-kill-{secrets.token_hex(4)}"
        payment_id = await pay_while_the_department_is_frozen(running, browser, fine, key)

        # killed with the requests still queued unread: the department is down, and the retry finds it so
        attempts = (await payment(browser, payment_id))["attempts"]
        running.kill("fines")
        killed = time.monotonic()
        assert payment_rows(running, fine["id"]) == []
        down = await until(browser, payment_id, lambda p: p["attempts"] > attempts, within=10)
        # a refused connection is "unavailable", not a timeout (kernel.client.is_timeout)
        assert down["status"] == "pending" and down["last_error"].startswith("upstream-unavailable"), down
        assert await balance(browser) == before - fine["amount_cents"]
        # a new process on the same data directory and port
        running.start("fines")

        settled = await assert_paid_exactly_once(running, browser, fine, key, payment_id, before)
        print(f"completed {time.monotonic() - killed:.1f}s after the kill, after {settled['attempts']} attempts")
        await running.wait_until_healthy("fines")


async def test_fines_frozen_mid_payment_then_resumed_the_late_request_and_the_retry_pay_once(tmp_path):
    async with deployment(tmp_path) as running, super_app(running) as browser:
        fine = await an_unpaid_fine(browser)
        before = await balance(browser)
        key = f"fault-resume-{secrets.token_hex(4)}"
        payment_id = await pay_while_the_department_is_frozen(running, browser, fine, key)

        # resumed: the requests the gateway gave up on are processed late, and the retry learns of it
        resumed = time.monotonic()
        running.resume("fines")

        settled = await assert_paid_exactly_once(running, browser, fine, key, payment_id, before)
        answers = department_answers(running)
        # the late requests took it (one 201); the wallet's own attempt that settled it, the last, heard 200
        assert len(answers) >= 2 and answers[-1] == 200, answers
        print(
            f"completed {time.monotonic() - resumed:.1f}s after the resume, after {settled['attempts']} attempts; "
            f"the department answered {answers}"
        )
