"""docker-compose.yml is generated from the topology, and what it declares really runs.

Docker is not needed: the parity test starts every service the compose file declares (the
stage and the citizen's own app among them) as a local process, with the declared command
and environment, rewritten only where this machine differs from the compose network: service
hostnames, the database server, the volume, the listen address (a container's 0.0.0.0 is
published on loopback only), and the published ports, all moved by one offset onto free ones
(so a `citygate up` on the usual ports does not stop the test).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from kernel import topology
from kernel.access import peers_of
from kernel.regime import Regime
from tests.fixtures.databases import postgres_databases, require_postgres
from tests.fixtures.narrowing import present
from tests.fixtures.processes import alive, assert_all_exit, descendants, free_port_block
from tests.fixtures.repository import ROOT
from workshop import compose
from workshop.cli import SKELETON_PLATE
from workshop.launcher import die_with_parent, endpoints, web_apps_for
from workshop.web_apps import CITIZEN_WEB, STAGE, WEB_APPS, WebAppSpec

HEALTH_TIMEOUT_SECONDS = 90
# a service's spans leave in batches (BatchSpanProcessor: every 5 s by default)
SPAN_EXPORT_SECONDS = 20
STOP_GRACE_SECONDS = 10
LOCAL_HOST = topology.LOOPBACK
WEB_APP_NAMES = {app.name for app in WEB_APPS}
STAGE_COLLECTOR = "http://stage:8000/v1/traces"  # by compose name: a service calls it


def load_compose() -> dict:
    return yaml.safe_load((ROOT / compose.COMPOSE_FILE).read_text(encoding="utf-8"))


def citygate_services(document: dict) -> dict[str, dict]:
    return {name: service for name, service in document["services"].items() if name != compose.POSTGRES_SERVICE}


def published_ports(service: dict) -> list[tuple[str, int, int]]:
    """``host_ip:host_port:container_port`` mappings as tuples."""
    mappings = []
    for mapping in service.get("ports", []):
        host_ip, host_port, container_port = str(mapping).rsplit(":", 2)
        mappings.append((host_ip, int(host_port), int(container_port)))
    return mappings


def mount_target(service: dict, volume_suffix: str = "-data") -> str:
    targets = [str(v).split(":")[1] for v in service.get("volumes", []) if str(v).split(":")[0].endswith(volume_suffix)]
    assert len(targets) == 1, service.get("volumes")
    return targets[0]


# --- a. the committed files are what the generator writes now ------------------------------


@pytest.mark.parametrize("path", list(compose.render()), ids=str)
def test_generated_files_match_the_topology(path: Path) -> None:
    target = ROOT / path
    advice = f"{path} is out of date with kernel/topology.py: run `python -m workshop.compose` and commit the result"
    assert target.is_file(), advice
    assert target.read_text(encoding="utf-8") == compose.render()[path], advice


def test_the_generator_is_deterministic() -> None:
    assert compose.render() == compose.render()


# --- b. the structure of the deployment --------------------------------------------------


def test_every_service_of_every_regime_and_both_web_apps_are_declared_and_nothing_else() -> None:
    expected = {f"{regime.value}-{spec.name}" for regime in Regime for spec in topology.services_in(regime)}
    assert set(citygate_services(load_compose())) == expected | {"stage", "citizen-web"}


@pytest.mark.parametrize(
    ("regime", "spec"),
    [(regime, spec) for regime in Regime for spec in topology.services_in(regime)],
    ids=lambda value: value.value if isinstance(value, Regime) else value.name,
)
def test_each_service_is_complete(regime: Regime, spec: topology.ServiceSpec) -> None:
    document = load_compose()
    name = f"{regime.value}-{spec.name}"
    service = document["services"][name]
    prefix, port = spec.env_prefix, spec.port(regime)

    assert service["build"] == "."
    assert service["image"] == "citygate:latest"
    assert service["command"] == ["citygate", "serve", spec.name]

    env = service["environment"]
    assert all(isinstance(value, str) for value in env.values()), "compose wants every env value as a string"
    assert env[f"{prefix}REGIME"] == regime.value
    assert env[f"{prefix}PORT"] == str(port)
    assert env[f"{prefix}DEMO"] == "true"
    assert env[f"{prefix}HOST"] == "0.0.0.0"
    assert env[f"{prefix}DATA_DIR"] == "/data"
    database = make_url(env[f"{prefix}DATABASE_URL"])
    assert (database.drivername, database.host, database.port, database.database) == (
        "postgresql+psycopg",
        "postgres",
        5432,
        f"{regime.value}_{spec.name}",
    )
    assert ("AUTHLIB_INSECURE_TRANSPORT" in env) == (spec.name == "identity")
    # every address points at a service of the same regime (or the stage's collector) on its own port:
    # by compose name between services, by the published loopback port where a citizen's browser goes
    callable_by_name = {f"{regime.value}-{s.name}": s.port(regime) for s in topology.services_in(regime)}
    callable_by_name["stage"] = STAGE.port()
    published = {s.port(regime) for s in topology.services_in(regime)} | {STAGE.port(), CITIZEN_WEB.port()}
    for key, value in env.items():
        for host, url_port in re.findall(r"https?://([^:/\"]+):(\d+)", value):
            if is_browser_address(key):
                assert (host, int(url_port) in published) == ("127.0.0.1", True), f"{name}: {key}={value}"
            else:
                assert callable_by_name.get(host) == int(url_port), f"{name}: {key}={value}"
    # the stage draws its diagrams from every service's spans and frames the pages a phone shows
    assert env[f"{prefix}OTLP_ENDPOINT"] == STAGE_COLLECTOR
    if "stage_origin" in spec.settings_class().model_fields:
        assert env[f"{prefix}STAGE_ORIGIN"] == "http://127.0.0.1:8000"
    else:
        assert f"{prefix}STAGE_ORIGIN" not in env, "a setting the service does not read"
    # in the rights regime, the citizen's own app is the one other origin whose page may call it
    assert env.get(f"{prefix}CITIZEN_WEB_ORIGIN") == ("http://127.0.0.1:8210" if regime is Regime.RIGHTS else None)
    declared_peers = {key.removeprefix(f"{prefix}PEERS__").lower() for key in env if key.startswith(f"{prefix}PEERS__")}
    assert declared_peers == set(peers_of(spec.name)) & {s.name for s in topology.services_in(regime)}

    assert mount_target(service) == "/data"
    volume = service["volumes"][0].split(":")[0]
    assert volume in document["volumes"]
    assert service["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert published_ports(service) == [("127.0.0.1", port, port)]

    health = service["healthcheck"]
    assert health["test"][0] == "CMD" and health["test"][1] == "python"
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(health["test"])
    assert "curl" not in " ".join(health["test"])


def is_browser_address(key: str) -> bool:
    """An environment entry a browser is sent to (or whose origin a browser reports), not one a service calls."""
    return "BROWSER_URL" in key or "REDIRECT_URIS" in key or key.endswith("_ORIGIN")


@pytest.mark.parametrize("app", WEB_APPS, ids=lambda app: app.name)
def test_each_web_app_is_complete(app: WebAppSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    document = load_compose()
    service = document["services"][app.name]
    prefix, port = app.env_prefix, app.port()
    assert (service["build"], service["image"]) == (".", "citygate:latest")
    assert service["command"] == ["citygate", "serve", app.name]
    env = service["environment"]
    assert all(isinstance(value, str) for value in env.values()), "compose wants every env value as a string"
    assert (env[f"{prefix}HOST"], env[f"{prefix}PORT"]) == ("0.0.0.0", str(port))
    assert published_ports(service) == [("127.0.0.1", port, port)]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])
    assert not any(key.endswith("_DATABASE_URL") for key in env), "a web app has no database of its own"
    # started once the services it shows are healthy, as `citygate up` starts it
    regimes = [Regime.RIGHTS] if app is CITIZEN_WEB else list(Regime)
    assert service["depends_on"] == {
        f"{regime.value}-{spec.name}": {"condition": "service_healthy"}
        for regime in regimes
        for spec in topology.services_in(regime)
    }
    # a web app calls no service by compose name: every address in its environment is a browser's
    for key, value in env.items():
        for host, _ in re.findall(r"https?://([^:/\"]+):(\d+)", value):
            assert host == "127.0.0.1", f"{app.name}: {key}={value}"
    # the declared environment is what the app's settings read, every entry of it
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = app.settings_class()()
    assert (settings.host, settings.port) == ("0.0.0.0", port)
    unread = {key for key in env if key.removeprefix(prefix).lower() not in type(settings).model_fields}
    assert not unread, f"{app.name} declares what its settings do not read: {unread}"
    if app is STAGE:
        assert env[f"{prefix}BASE_PORT"] == "8100", "the phones' and services' published ports derive from it"
        assert mount_target(service) == "/data" and env[f"{prefix}DATA_DIR"] == "/data"
        # who learned what: every service's own database on compose's PostgreSQL, none other
        urls = json.loads(env[f"{prefix}DATABASE_URLS"])
        declared = {
            f"{regime.value}-{spec.name}": document["services"][f"{regime.value}-{spec.name}"]["environment"][
                f"{spec.env_prefix}DATABASE_URL"
            ]
            for regime in Regime
            for spec in topology.services_in(regime)
        }
        read = {f"{regime}-{name}": url for regime, by_name in urls.items() for name, url in by_name.items()}
        assert read == declared
        assert settings.database_urls[Regime.RIGHTS]["pod"] == urls["rights"]["pod"]
        assert "OTLP_ENDPOINT" not in " ".join(env), "the stage is the collector; it exports no span of its own"
    else:
        assert "volumes" not in service, "the citizen's app keeps nothing: its state is in the browser"
        assert env[f"{prefix}STAGE_ORIGIN"] == "http://127.0.0.1:8000"
        assert env[f"{prefix}GATEWAY_URL"] == "http://127.0.0.1:8200"
        assert env[f"{prefix}IDENTITY_URL"] == "http://127.0.0.1:8201"
        assert (
            settings.departments
            == json.loads(env[f"{prefix}DEPARTMENTS"])
            == {
                spec.name: f"http://127.0.0.1:{spec.port(Regime.RIGHTS)}"
                for spec in topology.services_in(Regime.RIGHTS)
                if spec.name not in ("gateway", "identity")
            }
        )


def test_the_published_ports_are_the_ones_citygate_up_uses() -> None:
    services = citygate_services(load_compose())
    published = {
        (name, host_port) for name, service in services.items() for _, host_port, _ in published_ports(service)
    }
    launcher = {(f"{e.regime.value}-{e.service}", e.port) for e in endpoints(list(Regime))}
    launcher |= {(app.name, app.port()) for app in web_apps_for(list(Regime))}
    assert published == launcher


def test_postgres_creates_exactly_the_databases_the_services_use() -> None:
    document = load_compose()
    postgres = document["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    assert postgres["environment"]["POSTGRES_USER"] == "citygate"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    init_mount = next(v for v in postgres["volumes"] if v.split(":")[1] == "/docker-entrypoint-initdb.d")
    init_dir = ROOT / init_mount.split(":")[0]
    sql = "\n".join(path.read_text(encoding="utf-8") for path in sorted(init_dir.glob("*.sql")))
    created = set(re.findall(r"^CREATE DATABASE (\w+);$", sql, flags=re.MULTILINE))
    used = {
        present(make_url(value).database)
        for service in citygate_services(document).values()
        for key, value in service["environment"].items()
        if key.endswith("_DATABASE_URL")
    }
    assert created == used
    services = [f"{regime.value}-{spec.name}" for regime in Regime for spec in topology.services_in(regime)]
    assert len(used) == len(services), "each service has a database of its own (the two web apps none)"


def test_the_dockerfile_builds_one_python_311_image_of_the_project() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    stages = [line for line in instructions if line.upper().startswith("FROM ")]
    # the image is the last stage; an earlier one only installs the pages' browser libraries
    assert re.fullmatch(r"FROM python:3\.11(-slim)?", stages[-1]), stages
    text = "\n".join(instructions)
    assert "npm ci" in text and "COPY --from=web /web/node_modules /app/web/node_modules" in text, (
        "the browser libraries come from the lockfile, into the image"
    )
    assert re.search(r"pip install --no-cache-dir \.(\s|$)", text), "the image installs the project itself"
    users = [line.split()[1] for line in instructions if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the services run as a non-root user"
    assert "VOLUME /data" in instructions
    assert 'CMD ["citygate", "serve", "gateway"]' in instructions
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".git", "var/"} <= set(ignored)


# --- c. parity: the declared commands and environments run the walking skeleton -----------


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _report(logs: dict[str, Path], names) -> str:
    return "\n".join(f"\n----- {name}: last lines of {logs[name]} -----\n{_tail(logs[name])}" for name in names)


def _local_database_url(declared_value: str, databases: dict[str, str]) -> str:
    declared = make_url(declared_value)
    assert (declared.host, declared.port) == (compose.POSTGRES_SERVICE, compose.POSTGRES_PORT), declared_value
    local = make_url(databases[present(declared.database)])
    return declared.set(
        host=local.host,
        port=local.port,
        username=local.username,
        password=local.password,
        database=local.database,
    ).render_as_string(hide_password=False)


def _local_environment(
    name: str,
    service: dict,
    compose_hosts: set[str],
    databases: dict[str, str],
    data_dir: Path,
    published: set[int],
    port_shift: int,
) -> dict[str, str]:
    """The declared environment, rewritten only where this machine differs from the compose network."""
    volume_target = mount_target(service) if service.get("volumes") else None
    env = {}

    def local_address(match: re.Match[str]) -> str:
        host, port = match.group(1), int(match.group(2))
        # compose service names resolve only inside the compose network; every published port moves by
        # one offset, so a service name and a loopback address both become loopback at the moved port
        if host in compose_hosts or host == LOCAL_HOST:
            assert port in published, f"{name}: {match.group(0)} is no published port"
            return f"http://{LOCAL_HOST}:{port + port_shift}"
        return match.group(0)

    for key, declared_value in service["environment"].items():
        value = re.sub(r"http://([^:/\"]+):(\d+)", local_address, str(declared_value))
        if key.endswith("_PORT") and int(value) in published:
            value = str(int(value) + port_shift)  # where it listens; the stage's BASE_PORT, where the phones are
        if key.endswith("_DATABASE_URL"):
            value = _local_database_url(value, databases)
        if key.endswith("_DATABASE_URLS"):
            by_regime = json.loads(value)
            value = json.dumps(
                {
                    regime: {service: _local_database_url(url, databases) for service, url in urls.items()}
                    for regime, urls in by_regime.items()
                }
            )
        if volume_target is not None and (value == volume_target or value.startswith(volume_target + "/")):
            value = str(data_dir) + value.removeprefix(volume_target)
        if key.endswith("_HOST") and value == "0.0.0.0":
            # 0.0.0.0 is the container's own interface; compose publishes it on loopback only
            value = LOCAL_HOST
        assert not any(f"{host}:" in value for host in compose_hosts), f"{name}: {key}={value} was not rewritten"
        env[key] = value
    return env


def _can_listen(port: int) -> bool:
    """Whether a server could bind ``port`` as uvicorn does (SO_REUSEADDR): unlike a plain bind, the
    TIME_WAIT connections a previous run leaves behind do not count, only a live listener does."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOCAL_HOST, port))
        except OSError:
            return False
    return True


def _stop(processes: dict[str, subprocess.Popen]) -> tuple[list[str], set[int]]:
    """SIGTERM everything, SIGKILL what is left after the grace period; the names that needed it."""
    tree = {process.pid for process in processes.values()}
    for process in processes.values():
        tree |= descendants(process.pid)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    killed = []
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, process in processes.items():
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            killed.append(name)
            process.kill()
            process.wait(timeout=10)
    for pid in tree:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return killed, tree


def _health_of(name: str) -> dict[str, str]:
    if name == STAGE.name:
        return {"status": "ok", "service": "stage"}
    if name == CITIZEN_WEB.name:
        return {"status": "ok", "service": "citizen-web", "regime": "rights"}
    regime, _, service_name = name.partition("-")
    return {"status": "ok", "service": service_name, "regime": regime}


def _assert_the_web_apps_show_the_services(client: httpx.Client, ports: dict[str, int], logs: dict[str, Path]) -> None:
    """The stage collects the services' spans (sent to it by compose name) and reads their databases
    on PostgreSQL; the citizen's app sends the browser to the rights services' published ports."""
    stage = f"http://{LOCAL_HOST}:{ports[STAGE.name]}"
    deadline = time.monotonic() + SPAN_EXPORT_SECONDS
    for regime in Regime:
        gateway = f"{regime.value}/gateway"
        while True:
            traces = client.get(f"{stage}/traces", params={"regime": regime.value}).json()
            if any(t["service"] == gateway and t["kind"] == "server" and t["spans"] > 1 for t in traces):
                break
            assert time.monotonic() < deadline, f"no span of {gateway} reached the stage: {traces}" + _report(
                logs, [STAGE.name, f"{regime.value}-gateway"]
            )
            time.sleep(0.5)
        response = client.get(f"{stage}/exposure/{regime.value}", params={"persona": "li-wei"}, timeout=30.0)
        assert response.status_code == 200, response.text + _report(logs, [STAGE.name])
        assert 'class="parties"' in response.text, response.text  # not "waiting for the services' data"

    page = client.get(f"http://{LOCAL_HOST}:{ports[CITIZEN_WEB.name]}/")
    assert page.status_code == 200, page.text + _report(logs, [CITIZEN_WEB.name])
    policy = page.headers["content-security-policy"]
    assert f"http://{LOCAL_HOST}:{ports['rights-gateway']}" in policy, policy
    assert f"frame-ancestors 'self' {stage}" in policy, policy


@pytest.mark.processes
def test_the_compose_services_run_the_walking_skeleton(tmp_path: Path) -> None:
    require_postgres()
    document = load_compose()
    services = citygate_services(document)
    compose_hosts = set(services)

    declared_ports = {}
    for name, service in services.items():
        [(_, host_port, container_port)] = published_ports(service)
        # the rewrite moves every port by one offset: it relies on compose publishing each port 1:1
        assert host_port == container_port, f"{name} publishes {host_port}:{container_port}"
        declared_ports[name] = host_port
    published = set(declared_ports.values())
    lowest = min(published)
    port_shift = free_port_block(max(published) - lowest + 1) - lowest
    ports = {name: port + port_shift for name, port in declared_ports.items()}
    busy = sorted(f"{port} ({name})" for name, port in ports.items() if not _can_listen(port))
    assert not busy, f"taken since they were found free: {', '.join(busy)}"

    citygate = Path(sys.executable).parent / "citygate"
    assert citygate.is_file(), f"no citygate script next to {sys.executable}: install the project"
    base_env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    declared_databases = sorted(
        present(make_url(value).database)
        for service in services.values()
        for key, value in service["environment"].items()
        if key.endswith("_DATABASE_URL")
    )

    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    with postgres_databases(*declared_databases) as databases:
        started = time.monotonic()
        try:
            for name, service in services.items():
                workdir = tmp_path / name
                (workdir / "data").mkdir(parents=True)
                local = _local_environment(
                    name, service, compose_hosts, databases, workdir / "data", published, port_shift
                )
                command = [
                    str(citygate) if part == "citygate" and index == 0 else str(part)
                    for index, part in enumerate(service["command"])
                ]
                env = {**base_env, **local}
                logs[name] = tmp_path / f"{name}.log"
                with open(logs[name], "wb") as log:
                    processes[name] = subprocess.Popen(
                        command,
                        env=env,
                        cwd=workdir,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        preexec_fn=die_with_parent,  # noqa: PLW1509 (as the launcher does: the child dies with us)
                    )

            pending = set(services)
            deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
            with httpx.Client(timeout=2.0, trust_env=False) as client:
                while pending:
                    for name in sorted(pending):
                        if processes[name].poll() is not None:
                            pytest.fail(f"{name} exited with code {processes[name].returncode}" + _report(logs, [name]))
                        try:
                            response = client.get(f"http://{LOCAL_HOST}:{ports[name]}/healthz")
                        except httpx.HTTPError:
                            continue
                        if response.status_code == 200:
                            assert response.json() == _health_of(name)
                            pending.discard(name)
                    if pending and time.monotonic() > deadline:
                        pytest.fail(
                            f"not healthy after {HEALTH_TIMEOUT_SECONDS}s: {', '.join(sorted(pending))}"
                            + _report(logs, sorted(pending))
                        )
                    if pending:
                        time.sleep(0.25)
                healthy_after = time.monotonic() - started

                for regime in Regime:
                    gateway = f"{regime.value}-gateway"
                    url = f"http://{LOCAL_HOST}:{ports[gateway]}/demo/vehicles/{quote(SKELETON_PLATE)}/fines"
                    response = client.get(url, timeout=30.0)
                    involved = [f"{regime.value}-{part}" for part in ("gateway", "identity", "fines")]
                    assert response.status_code == 200, f"{url}: {response.status_code} {response.text}" + _report(
                        logs, involved
                    )
                    body = response.json()
                    assert body["regime"] == regime.value
                    assert len(body["fines"]) == 2, body

                    # Inside the compose network the token endpoint is addressed by service name over
                    # plain http, which Authlib refuses unless the declared environment allows it.
                    identity = f"{regime.value}-identity"
                    response = client.post(
                        f"http://{LOCAL_HOST}:{ports[identity]}/oauth2/token",
                        data={"grant_type": "client_credentials"},
                        headers={"Host": f"{identity}:{declared_ports[identity]}"},
                    )
                    assert response.status_code in (400, 401), response.text + _report(logs, [identity])
                    assert response.json()["error"] != "insecure_transport", response.text

                _assert_the_web_apps_show_the_services(client, ports, logs)
        finally:
            killed, tree = _stop(processes)
    assert_all_exit(tree, timeout=5)
    assert not killed, f"did not stop within {STOP_GRACE_SECONDS}s of SIGTERM: {killed}" + _report(logs, killed)
    print(
        f"\n{len(services)} services healthy {healthy_after:.1f}s after launch; "
        f"stopped {time.monotonic() - started:.1f}s after launch"
    )
