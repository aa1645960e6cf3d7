"""``make fuzz``: Schemathesis against every service's OpenAPI, in both regimes, in process.

Each regime's services run as in the tests (tests/mesh.py: one process, one event loop in a thread
of its own, each service with its own database). Schemathesis drives each service through a small
ASGI bridge that forwards every generated request to the mesh, adding one credential kind's headers
(tests/credentials.py): none, a department's service token, the citizen's app token, the
super-app's session cookie. All phases run (examples, coverage, fuzzing, stateful where the schema
has links), with a fixed seed. The only check is "no server error": any 5xx is a failure, with
the exception that caused it when there was one (an unhandled exception reaches the bridge).

    .venv/bin/python -m tests.fuzzing --cases 20 --seed 1 [--regime rights] [--service fines]

prints per service: cases, requests, 5xx and distinct failures; exits 1 on any 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from kernel import topology
from kernel.regime import Regime
from tests.credentials import Credentials, credential_kinds
from tests.mesh import Mesh
from tests.support import postgres_databases

PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Values mixed into generation (Schemathesis fuzz dictionaries): the edges where a database or the
# calendar gives out. Schema-valid ones are tried as valid input, the others as invalid input.
EXTREME_INTEGERS = [2**63, 2**63 - 1, 2**53, 2**31, 2**31 - 1, -1, 0, -(2**63) - 1]
EXTREME_STRINGS = [
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "x" * 10_000,
    "\u0000",
    "../..",
    "%2e%2e/",
    "a" * 300,
]
DICTIONARY_PROBABILITY = 0.15
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Failure:
    """One distinct server error: where, and what raised (or what the server said)."""

    service: str
    credential: str
    operation: str
    status: int
    cause: str

    def __str__(self) -> str:
        return f"{self.service} [{self.credential}] {self.operation} → {self.status}: {self.cause}"


@dataclass
class ServiceFigures:
    cases: int = 0
    requests: int = 0
    server_errors: int = 0
    errors: int = 0  # schemathesis could not run a case (not a server error; listed)
    seconds: float = 0.0
    failures: dict[Failure, str] = field(default_factory=dict)  # failure → one example request
    statuses: Counter = field(default_factory=Counter)  # (credential, status) → requests
    phases: Counter = field(default_factory=Counter)  # phase → cases
    engine_errors: list[str] = field(default_factory=list)


class MeshThread:
    """A regime's mesh, running on an event loop of its own thread."""

    def __init__(self, regime: Regime, data_root: Path, database_urls: dict[str, str] | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"mesh-{regime.value}", daemon=True)
        self.thread.start()
        self.mesh = Mesh(regime, data_root, database_urls)
        self.call(self.mesh.__aenter__())
        self.credentials = Credentials(self.mesh)
        self.clients = {name: self.mesh.client(name) for name in self.mesh.apps}
        self.causes: dict[str, str] = {}  # request id → the unhandled exception's summary

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        async def stop() -> None:
            for client in self.clients.values():
                await client.aclose()
            await self.credentials.aclose()
            await self.mesh.__aexit__(None, None, None)

        try:
            self.call(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)

    async def forward(
        self, service: str, credential: str, method: str, target: bytes, headers: list, body: bytes
    ) -> httpx.Response:
        """One generated request, as a client of the mesh would send it, with ``credential``'s headers."""
        client = self.clients[service]
        request = client.build_request(method, client.base_url.copy_with(raw_path=target), content=body)
        request.headers.clear()
        for name, value in headers:
            if name.lower() not in (b"host", b"content-length"):
                request.headers[name.decode("latin-1")] = value.decode("latin-1")
        request.headers["host"] = client.base_url.netloc.decode()
        request.headers["content-length"] = str(len(body))
        for name, value in (await self.credentials.headers(service, credential)).items():
            request.headers[name] = value
        try:
            return await client.send(request)
        except Exception as error:
            return httpx.Response(
                599 if isinstance(error, httpx.TransportError) else 500,
                headers={"x-fuzz-cause": _cause(error)},
                request=request,
            )


def _cause(error: BaseException) -> str:
    """``ExceptionType: message @ file:line in function`` of the innermost frame in the project."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if str(ROOT) in frame.filename and ".venv" not in frame.filename] or frames
    where = ours[-1] if ours else None
    message = str(error).replace("\n", " ")[:160]
    location = (
        f" @ {Path(where.filename).relative_to(ROOT) if str(ROOT) in where.filename else where.filename}"
        f":{where.lineno} in {where.name}"
        if where
        else ""
    )
    return f"{type(error).__name__}: {message}{location}".encode("ascii", "replace").decode()


class Bridge:
    """The ASGI app Schemathesis calls: forwards each request to one service of the mesh."""

    def __init__(self, mesh: MeshThread, service: str, credential: str) -> None:
        self.mesh, self.service, self.credential = mesh, service, credential

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan: the mesh runs the services")  # refused before any message
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        future = asyncio.run_coroutine_threadsafe(
            self.mesh.forward(self.service, self.credential, scope["method"], target, scope["headers"], body),
            self.mesh.loop,
        )
        response = await asyncio.wrap_future(future)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(k.lower(), v) for k, v in response.headers.raw if k.lower() != b"content-length"]
                + [(b"content-length", str(len(response.content)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": response.content})


def _config(seed: int, cases: int, phases: tuple[str, ...], unexpected_methods: bool) -> SchemathesisConfig:
    settings = {phase: {"enabled": phase in phases} for phase in PHASES}
    if not unexpected_methods:  # the coverage phase's tries of undeclared methods (all 405)
        settings["coverage"]["unexpected-methods"] = []
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "dictionaries": {
                "extreme-integers": {"values": EXTREME_INTEGERS},
                "extreme-strings": {"values": EXTREME_STRINGS},
            },
            "generation": {
                "max-examples": cases,
                "mode": "all",
                "dictionaries": {
                    "integer": {"dictionary": "extreme-integers", "probability": DICTIONARY_PROBABILITY},
                    "string": {"dictionary": "extreme-strings", "probability": DICTIONARY_PROBABILITY},
                },
            },
            "phases": settings,
            "checks": {"enabled": False, "not_a_server_error": {"enabled": True}},
            "continue-on-failure": True,
            "workers": 1,
            "request-timeout": 30,
            "output": {"sanitization": {"enabled": False}},
        }
    )


def fuzz_service(
    mesh: MeshThread,
    service: str,
    credential: str,
    *,
    seed: int,
    cases: int,
    phases: tuple[str, ...],
    figures: ServiceFigures,
    unexpected_methods: bool = True,
) -> None:
    started = time.monotonic()
    bridge = Bridge(mesh, service, credential)
    config = _config(seed, cases, phases, unexpected_methods)
    schema = schemathesis.openapi.from_asgi("/openapi.json", bridge, config=config)
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            figures.cases += len(event.recorder.cases)
            figures.phases[event.phase.value] += len(event.recorder.cases)
            for interaction in event.recorder.interactions.values():
                figures.requests += 1
                response = interaction.response
                figures.statuses[credential, response.status_code if response is not None else 0] += 1
                if response is None or response.status_code < 500:
                    continue
                figures.server_errors += 1
                cause = response.headers.get("x-fuzz-cause", [""])[0] if response.headers else ""
                failure = Failure(
                    service, credential, event.recorder.label, response.status_code, cause or _problem_detail(response)
                )
                figures.failures.setdefault(failure, _describe(interaction.request))
        elif isinstance(event, events.NonFatalError):
            figures.errors += 1
            figures.engine_errors.append(
                f"{service} [{credential}] {event.label}: {event.info.title}: {str(event.value)[:200]}"
            )
        elif isinstance(event, events.FatalError):
            figures.engine_errors.append(f"{service} [{credential}] fatal: {event.exception!r}")
    figures.seconds += time.monotonic() - started


def _problem_detail(response) -> str:
    with contextlib.suppress(Exception):
        body = response.json()
        return f"{body.get('type', '')} {body.get('detail', '')}".strip()[:200]
    return "(no body)"


def _describe(request) -> str:
    body = (request.body or b"")[:300]
    return f"{request.method} {request.uri[:300]} body={body!r}"


def _databases(regime: Regime, backend: str):
    """None (each service's SQLite file) or a fresh PostgreSQL database per service."""
    if backend == "sqlite":
        return contextlib.nullcontext(None)
    return postgres_databases(*(spec.name for spec in topology.services_in(regime)))


@contextlib.contextmanager
def _quiet(name: str):
    """Silence a logger for the run and give it back as it was: the CI slice runs inside the test
    session, whose later tests read these logs (tests/test_kernel_http.py)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def run(
    regimes: list[Regime],
    services: list[str] | None,
    *,
    seed: int,
    cases: int,
    phases: tuple[str, ...] = PHASES,
    unexpected_methods: bool = True,
    backend: str = "sqlite",
    out=sys.stdout,
) -> dict[str, ServiceFigures]:
    """Fuzz every service of each regime with every credential kind; figures per ``regime/service``."""
    figures: dict[str, ServiceFigures] = {}
    with tempfile.TemporaryDirectory(prefix="citygate-fuzz-") as data_root, contextlib.ExitStack() as stack:
        stack.enter_context(_quiet("citygate"))  # 4xx chatter; 5xx are counted, not logged
        for regime in regimes:
            mesh = MeshThread(regime, Path(data_root), stack.enter_context(_databases(regime, backend)))
            try:
                for spec in topology.services_in(regime):
                    if services and spec.name not in services:
                        continue
                    key = f"{regime.value}/{spec.name}" + ("" if backend == "sqlite" else f" ({backend})")
                    figures[key] = ServiceFigures()
                    for credential in credential_kinds(mesh.mesh, spec.name):
                        fuzz_service(
                            mesh,
                            spec.name,
                            credential,
                            seed=seed,
                            cases=cases,
                            phases=phases,
                            figures=figures[key],
                            unexpected_methods=unexpected_methods,
                        )
                    _print_line(out, key, figures[key])
            finally:
                mesh.close()
    return figures


def _print_line(out, key: str, figures: ServiceFigures) -> None:
    print(
        f"{key:<24} {figures.cases:>7} cases {figures.requests:>7} requests {figures.server_errors:>5} 5xx "
        f"{len(figures.failures):>3} distinct failures {figures.errors:>3} errors {figures.seconds:7.1f} s",
        file=out,
        flush=True,
    )


def report(figures: dict[str, ServiceFigures], out=sys.stdout) -> None:
    total = ServiceFigures()
    for item in figures.values():
        total.cases += item.cases
        total.requests += item.requests
        total.server_errors += item.server_errors
        total.errors += item.errors
        total.seconds += item.seconds
        total.failures.update(item.failures)
        total.engine_errors += item.engine_errors
        total.phases.update(item.phases)
        total.statuses.update(item.statuses)
    _print_line(out, "total", total)
    print("cases by phase: " + ", ".join(f"{phase} {count}" for phase, count in sorted(total.phases.items())), file=out)
    by_class: Counter = Counter()
    for (credential, status), count in total.statuses.items():
        by_class[credential.split(":")[0], f"{status // 100}xx"] += count
    for credential in sorted({credential for credential, _ in by_class}):
        print(
            f"responses with {credential}: "
            + ", ".join(
                f"{klass} {by_class[credential, klass]}"
                for klass in ("2xx", "3xx", "4xx", "5xx")
                if by_class[credential, klass]
            ),
            file=out,
        )
    for failure, example in total.failures.items():
        print(f"FAILURE {failure}\n        e.g. {example}", file=out)
    for line, count in Counter(total.engine_errors).most_common(20):
        print(f"ERROR ({count}x) {line}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20, help="max examples per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regime", choices=[r.value for r in Regime], action="append")
    parser.add_argument("--service", action="append", help="only these services (repeatable)")
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the services' databases (postgresql: CITYGATE_TEST_POSTGRES, as the tests)",
    )
    parser.add_argument(
        "--no-unexpected-methods", action="store_true", help="skip the coverage phase's undeclared methods (each a 405)"
    )
    args = parser.parse_args(argv)
    regimes = [Regime(value) for value in args.regime] if args.regime else list(Regime)
    started = time.monotonic()
    figures = run(
        regimes,
        args.service,
        seed=args.seed,
        cases=args.cases,
        phases=tuple(args.phases.split(",")),
        unexpected_methods=not args.no_unexpected_methods,
        backend=args.backend,
    )
    report(figures)
    print(
        f"wall time {time.monotonic() - started:.0f} s; seed {args.seed}; {args.cases} examples per operation; "
        f"{args.backend}",
        flush=True,
    )
    return 1 if any(item.server_errors for item in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
