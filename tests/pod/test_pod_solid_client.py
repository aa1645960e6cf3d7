"""An existing Solid client library uses the pod: ``@inrupt/solid-client`` (npm, run with Node)
creates, reads, updates and deletes resources in a public container of a pod started as
``citygate serve pod``, and reads the container's public-access rules.

The Node side is ``tests/solid_client/crud.mjs`` (its packages: ``make test`` runs ``npm ci`` in
``tests/solid_client``). Without Node or those packages the test is skipped locally and fails in CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from kernel.regime import Regime
from kernel.state import state_of
from pod import store
from pod.app import create_app
from pod.dependencies import PodState
from pod.paths import ACL_SUFFIX
from pod.pods import create_pod
from pod.settings import Settings
from tests.fixtures.narrowing import present
from tests.fixtures.processes import free_port_block
from tests.fixtures.repository import ROOT

pytestmark = pytest.mark.processes

CITYGATE = str(Path(sys.executable).with_name("citygate"))
CLIENT_DIR = ROOT / "tests" / "solid_client"
POD_ID = "demo-citizen"
PUBLIC = f"/pods/{POD_ID}/public/"
HEALTH_TIMEOUT_SECONDS = 60
CLIENT_TIMEOUT_SECONDS = 60
STEPS = [
    "create-rdf",
    "read-rdf",
    "update-rdf",
    "write-file",
    "read-file",
    "public-access",
    "delete-rdf",
    "delete-file",
    "gone",
]


def require_node_client() -> str:
    """The ``node`` executable, when it and the client's packages are installed: else skip locally,
    fail in CI (like ``tests.fixtures.databases.require_postgres``)."""
    node = shutil.which("node")
    installed = (CLIENT_DIR / "node_modules" / "@inrupt" / "solid-client" / "package.json").is_file()
    if node and installed:
        return node
    reason = (
        "Node is not installed"
        if not node
        else f"the Node packages are not installed: run `npm ci` in {CLIENT_DIR.relative_to(ROOT)} (make test does)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Solid client test, but {reason}")
    pytest.skip(reason)


def public_container_acl(container_url: str) -> bytes:
    """The public (``foaf:Agent``) may read, write and append in the container and everything in it.

    Reading an ACL needs Control (WAC), and the client reads the container's rules anonymously, so
    the public also has Control over the container itself (``acl:accessTo`` only, not inherited)."""
    return (
        "@prefix acl: <http://www.w3.org/ns/auth/acl#> .\n@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"
        f"<#public> a acl:Authorization ; acl:agentClass foaf:Agent ;\n"
        f"    acl:accessTo <{container_url}> ; acl:default <{container_url}> ;\n"
        "    acl:mode acl:Read, acl:Write, acl:Append .\n"
        f"<#public-rules> a acl:Authorization ; acl:agentClass foaf:Agent ; acl:accessTo <{container_url}> ;\n"
        "    acl:mode acl:Control .\n"
    ).encode()


async def prepare_pod(settings: Settings) -> str:
    """The database as the service keeps it: a pod with a public container; its URL."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        create_pod(state_of(app, PodState), POD_ID)
        now = datetime.now(UTC)
        container_url = present(settings.public_url) + PUBLIC
        with state_of(app, PodState).database.session() as session:
            store.write_container(session, PUBLIC, now)
            store.write(session, PUBLIC + ACL_SUFFIX, "text/turtle", public_container_acl(container_url), now)
            session.commit()
    return container_url


def wait_until_healthy(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the pod exited with {process.returncode}:\n{log.read_text()}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise AssertionError(f"{url} not healthy after {HEALTH_TIMEOUT_SECONDS} s:\n{log.read_text()}")


def test_the_inrupt_solid_client_creates_reads_updates_and_deletes_in_a_public_container(tmp_path):
    node = require_node_client()
    port = free_port_block(1)
    # An identity service nobody answers at: the client is anonymous, so no token is ever checked.
    unreachable_identity = f"http://127.0.0.1:{free_port_block(1)}"
    env = {
        "CITYGATE_POD_REGIME": Regime.RIGHTS.value,
        "CITYGATE_POD_PORT": str(port),
        "CITYGATE_POD_DATA_DIR": str(tmp_path / "pod"),
        "CITYGATE_POD_IDENTITY_URL": unreachable_identity,
    }
    settings = Settings(regime=Regime.RIGHTS, port=port, data_dir=tmp_path / "pod", identity_url=unreachable_identity)
    container_url = asyncio.run(prepare_pod(settings))

    log = tmp_path / "pod.log"
    with log.open("w") as output:
        pod = subprocess.Popen(
            [CITYGATE, "serve", "pod"],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_healthy(pod, f"{settings.public_url}/healthz", log)
        result = subprocess.run(
            [node, str(CLIENT_DIR / "crud.mjs"), container_url],
            check=False,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_SECONDS,
            cwd=CLIENT_DIR,
        )
    finally:
        if pod.poll() is None:
            pod.send_signal(signal.SIGTERM)
            try:
                pod.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pod.pid, signal.SIGKILL)
                pod.wait(timeout=10)

    report = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\npod log:\n{log.read_text()}"
    steps = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode == 0, report
    assert [s["step"] for s in steps] == STEPS, report
    assert all(s["ok"] for s in steps), report
    by_name = {s["step"]: s for s in steps}
    assert by_name["create-rdf"]["url"].startswith(container_url)
    assert by_name["read-file"]["size"] == 259
    assert by_name["public-access"]["access"] == {
        "read": True,
        "write": True,
        "append": True,
        "controlRead": True,
        "controlWrite": True,
    }
    assert by_name["gone"]["statuses"] == [404, 404]
