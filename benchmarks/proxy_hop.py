#!/usr/bin/env python3
"""Benchmark one HTTP "proxy hop" between two FastAPI services on loopback.

Purpose: choose the HTTP client transport for service-to-service calls.

Topology (everything on 127.0.0.1, free ports picked at run time)::

    load generator --> proxy (FastAPI, GET /fines?plate=X)
                         --> department (FastAPI, GET /vehicles/{plate}/fines)

Every server is its own uvicorn process (one worker, no access log, loop and
HTTP implementation "auto", i.e. whatever uvicorn extras are installed).  The
department runs for the whole benchmark; the proxy variants are started one
at a time.  The ``baseline`` row points the load generator at the department
directly.

Usage::

    python benchmarks/proxy_hop.py                      # all variants, defaults
    python benchmarks/proxy_hop.py --variants aiohttp,httpx-aiohttp --duration 5
    python benchmarks/proxy_hop.py --extra-variant kernel=mypkg.bench:make_app
    python benchmarks/proxy_hop.py --json results.json

Adding a variant: write a zero-argument factory returning a FastAPI app that
serves ``GET /fines?plate=X`` by calling the department, and either add it to
``VARIANTS`` below or pass ``--extra-variant [NAME=]module:function``.  The
factory runs inside the proxy's server process, where ``upstream_url()``
(env ``PROXY_HOP_UPSTREAM``) gives the department's base URL; the helpers
``build_proxy_app()``, ``fines_url()`` and ``outgoing_headers()`` do the rest::

    from benchmarks.proxy_hop import build_proxy_app

    def make_app():
        async def open_client(): return MyClient()
        async def close_client(c): await c.close()
        async def fetch(c, url, headers):
            r = await c.get(url, headers=headers)
            return r.status, r.json()
        return build_proxy_app("kernel", open_client, close_client, fetch)

Internal subcommands (used as subprocess entry points, runnable by hand):
``serve-department --port P``, ``serve-proxy --variant X --port P --upstream URL``
and ``loadgen --url URL ...`` (the Python fallback load generator).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

HOST = "127.0.0.1"
TOKEN = "proxy-hop-benchmark-token-0123456789abcdef"
UPSTREAM_ENV = "PROXY_HOP_UPSTREAM"
# The load generator sends this request id; proxies propagate it downstream.
LOADGEN_REQUEST_ID = "proxy-hop-bench-0000000000000000"
READY_PLATE = "READY00"
BENCH_PLATE = "AB123CD"
REFERENCE_VARIANT = "httpx-default"
BASELINE = "baseline"
PACKAGES = ["httpx", "httpcore", "aiohttp", "httpx-aiohttp", "uvicorn", "fastapi", "starlette", "uvloop", "httptools"]


# --------------------------------------------------------------------------
# Department service
# --------------------------------------------------------------------------


def department_fines(plate: str) -> list[dict[str, Any]]:
    """The department's answer: 2 fines, about 200 bytes of JSON."""
    return [
        {
            "id": "F-2024-0117",
            "plate": plate,
            "amount": 90.0,
            "reason": "speeding",
            "date": "2024-03-14",
            "paid": False,
        },
        {"id": "F-2024-0342", "plate": plate, "amount": 40.0, "reason": "parking", "date": "2024-06-02", "paid": True},
    ]


def make_department_app() -> FastAPI:
    app = FastAPI(title="department", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/vehicles/{plate}/fines")
    async def fines(plate: str, request: Request) -> Any:
        # A real downstream service checks the caller's credentials and wants
        # a request id; this also proves that the proxies forward both headers.
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"detail": "bad or missing bearer token"}, status_code=401)
        if not request.headers.get("x-request-id"):
            return JSONResponse({"detail": "missing X-Request-ID"}, status_code=400)
        return department_fines(plate)

    return app


# --------------------------------------------------------------------------
# Proxy variants
# --------------------------------------------------------------------------


def upstream_url() -> str:
    """Base URL of the department, as given to ``serve-proxy --upstream``."""
    return os.environ.get(UPSTREAM_ENV, f"http://{HOST}:8001").rstrip("/")


def fines_url(plate: str) -> str:
    return f"{upstream_url()}/vehicles/{urllib.parse.quote(plate, safe='')}/fines"


def outgoing_headers(request: Request) -> dict[str, str]:
    """Headers a real service client sends: its credentials and the request id
    (propagated from the incoming request, or a new one)."""
    return {
        "Authorization": f"Bearer {TOKEN}",
        "X-Request-ID": request.headers.get("x-request-id") or uuid.uuid4().hex,
    }


FetchFn = Callable[[Any, str, dict[str, str]], Awaitable[tuple[int, Any]]]


def build_proxy_app(
    title: str,
    open_client: Callable[[], Awaitable[Any]],
    close_client: Callable[[Any], Awaitable[None]],
    fetch: FetchFn,
) -> FastAPI:
    """A proxy app with one shared client created in the lifespan.

    ``fetch(client, url, headers)`` performs the GET and returns
    ``(status_code, parsed_json)``; the proxy returns that JSON with that status.
    """

    shared: dict[str, Any] = {}  # the one client, while the app serves

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        shared["client"] = client = await open_client()
        try:
            yield
        finally:
            await close_client(client)

    app = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/fines")
    async def fines(plate: str, request: Request) -> JSONResponse:
        status, data = await fetch(shared["client"], fines_url(plate), outgoing_headers(request))
        return JSONResponse(data, status_code=status)

    return app


def _httpx_proxy_app(name: str, transport_factory: Callable[[], Any] | None) -> FastAPI:
    import httpx

    async def open_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport_factory() if transport_factory else None)

    async def close_client(client: httpx.AsyncClient) -> None:
        await client.aclose()

    async def fetch(client: httpx.AsyncClient, url: str, headers: dict[str, str]):
        resp = await client.get(url, headers=headers)
        return resp.status_code, resp.json()

    return build_proxy_app(name, open_client, close_client, fetch)


def httpx_default_app() -> FastAPI:
    return _httpx_proxy_app("httpx-default", None)


def httpx_aiohttp_app() -> FastAPI:
    from httpx_aiohttp import AiohttpTransport

    return _httpx_proxy_app("httpx-aiohttp", AiohttpTransport)


def aiohttp_app() -> FastAPI:
    import aiohttp

    async def open_client() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    async def close_client(session: aiohttp.ClientSession) -> None:
        await session.close()

    async def fetch(session: aiohttp.ClientSession, url: str, headers: dict[str, str]):
        async with session.get(url, headers=headers) as resp:
            return resp.status, await resp.json()

    return build_proxy_app("aiohttp", open_client, close_client, fetch)


# name -> zero-argument factory returning a FastAPI app serving GET /fines?plate=X.
VARIANTS: dict[str, Callable[[], FastAPI]] = {
    "httpx-default": httpx_default_app,
    "httpx-aiohttp": httpx_aiohttp_app,
    "aiohttp": aiohttp_app,
}


def resolve_factory(spec: str) -> Callable[[], FastAPI]:
    """A registry name, or ``module:function`` naming a zero-argument factory."""
    if spec in VARIANTS:
        return VARIANTS[spec]
    if ":" not in spec:
        raise SystemExit(f"unknown variant {spec!r}; known: {', '.join(VARIANTS)} (or module:function)")
    module_name, _, func_name = spec.partition(":")
    # Make project-level modules importable (the script's own dir is sys.path[0]).
    for path in (os.getcwd(), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))):
        if path not in sys.path:
            sys.path.insert(0, path)
    factory = getattr(importlib.import_module(module_name), func_name)
    if not callable(factory):
        raise SystemExit(f"{spec} is not callable")
    return factory


# --------------------------------------------------------------------------
# Server entry points (subprocesses)
# --------------------------------------------------------------------------


def serve(app: FastAPI, port: int, info_file: str | None, role: str) -> None:
    """Run ``app`` with uvicorn: one worker, no access log, loop/http auto.

    Equivalent to ``uvicorn.run(app, workers=1, access_log=False, loop="auto",
    http="auto")``, but also records which loop and HTTP implementation
    "auto" resolved to.
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        loop="auto",
        http="auto",
        workers=1,
        access_log=False,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    config.load()
    server = uvicorn.Server(config)
    http_cls = config.http_protocol_class

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if info_file:
            info = {
                "role": role,
                "pid": os.getpid(),
                "loop": f"{type(loop).__module__}.{type(loop).__qualname__}",
                "http": f"{http_cls.__module__}.{http_cls.__qualname__}",
            }
            await asyncio.to_thread(Path(info_file).write_text, json.dumps(info))
        await server.serve()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(main())
    if not server.started:
        sys.exit(3)


def cmd_serve_department(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="proxy_hop.py serve-department")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--info-file")
    a = p.parse_args(argv)
    serve(make_department_app(), a.port, a.info_file, "department")


def cmd_serve_proxy(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="proxy_hop.py serve-proxy")
    p.add_argument("--variant", required=True, help="registry name or module:function")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="department base URL")
    p.add_argument("--info-file")
    a = p.parse_args(argv)
    os.environ[UPSTREAM_ENV] = a.upstream
    app = resolve_factory(a.variant)()
    serve(app, a.port, a.info_file, f"proxy:{a.variant}")


# --------------------------------------------------------------------------
# Python fallback load generator (subprocess)
# --------------------------------------------------------------------------


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(pct / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


async def _python_loadgen(
    url: str, connections: int, warmup: float, duration: float, headers: dict[str, str], request_timeout: float
) -> dict[str, Any]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=connections)
    client_timeout = aiohttp.ClientTimeout(total=request_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:

        async def phase(seconds: float) -> dict[str, Any]:
            latencies: list[float] = []
            errors = {"status": 0, "socket": 0}
            deadline = time.perf_counter() + seconds

            async def worker() -> None:
                while True:
                    t0 = time.perf_counter()
                    if t0 >= deadline:
                        return
                    try:
                        async with session.get(url, headers=headers) as resp:
                            await resp.read()
                            status = resp.status
                    except Exception:
                        errors["socket"] += 1
                        await asyncio.sleep(0.01)
                        continue
                    if 200 <= status < 300:
                        latencies.append(time.perf_counter() - t0)
                    else:
                        errors["status"] += 1

            cpu0, t_start = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - t_start
            cpu = time.process_time() - cpu0
            latencies.sort()
            return {
                "requests": len(latencies),
                "duration_s": elapsed,
                "p50_ms": percentile(latencies, 50) * 1e3,
                "p90_ms": percentile(latencies, 90) * 1e3,
                "p99_ms": percentile(latencies, 99) * 1e3,
                "max_ms": (latencies[-1] * 1e3) if latencies else float("nan"),
                "errors_status": errors["status"],
                "errors_socket": errors["socket"],
                "loadgen_cpu_s": cpu,
            }

        if warmup > 0:
            await phase(warmup)
        return await phase(duration)


def cmd_loadgen(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="proxy_hop.py loadgen")
    p.add_argument("--url", required=True)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--header", action="append", default=[], help="'Name: value'")
    a = p.parse_args(argv)
    if urllib.parse.urlsplit(a.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loadgen only targets loopback addresses")
    headers = dict(h.split(":", 1) for h in a.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    result = asyncio.run(_python_loadgen(a.url, a.connections, a.warmup, a.duration, headers, a.timeout))
    print("PROXY_HOP_RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------
# Orchestrator
# --------------------------------------------------------------------------


def _set_pdeathsig() -> None:
    """In the child: get SIGTERM if the benchmark process dies (no orphans
    even on SIGKILL of the parent).  Linux only; best effort."""
    with contextlib.suppress(Exception):  # not Linux: the benchmark's own exit handling still stops them
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Processes:
    """Every subprocess the benchmark starts; all of them are stopped on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: list[str], log_path: str | None = None, **kw: Any) -> subprocess.Popen:
        with contextlib.ExitStack() as opened:  # the child keeps its own copy of the log file
            out: Any = opened.enter_context(open(log_path, "wb")) if log_path else kw.pop("stdout", subprocess.DEVNULL)
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=kw.pop("stderr", subprocess.STDOUT),
                start_new_session=True,
                # no orphans even when the benchmark is killed: subprocess has no other way to ask
                # for a parent-death signal
                preexec_fn=_set_pdeathsig,  # noqa: PLW1509
                **kw,
            )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 10.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            try:
                self.stop(proc, grace=5.0)
            except Exception as exc:  # keep going: never leave the others running
                print(f"warning: could not stop pid {proc.pid}: {exc}", file=sys.stderr)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    # only the http://127.0.0.1 URLs this script builds for the servers it started
    req = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def log_tail(path: str, n: int = 30) -> str:
    try:
        with open(path, "rb") as fh:
            return b"\n".join(fh.read().splitlines()[-n:]).decode(errors="replace")
    except OSError:
        return "(no log)"


def wait_ready(
    proc: subprocess.Popen, url: str, headers: dict[str, str], log_path: str, timeout: float = 30.0
) -> bytes:
    """Poll ``url`` until the server answers; return the body of a 200 answer."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with code {proc.returncode} before becoming ready; log tail:\n{log_tail(log_path)}"
            )
        try:
            status, body = http_get(url, headers)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server not ready after {timeout:.0f} s: {url}\nlog tail:\n{log_tail(log_path)}"
                ) from exc
            time.sleep(0.1)
            continue
        if status != 200:
            raise RuntimeError(f"GET {url} -> {status}: {body[:300]!r}\nlog tail:\n{log_tail(log_path)}")
        return body


def read_info(path: str) -> dict[str, Any]:
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def proc_cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        # fields[0] is field 3 (state); utime/stime are fields 14/15.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def host_cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            vals = [int(v) for v in fh.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        total = sum(vals[:8])
        return total - idle, total
    except (OSError, ValueError, IndexError):
        return None


def machine_facts() -> dict[str, Any]:
    cpu_model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.lower().startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    loadavg = "unknown"
    with contextlib.suppress(OSError), open("/proc/loadavg") as fh:
        loadavg = " ".join(fh.read().split()[:3])
    return {
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": versions,
        "loadavg_at_start": loadavg,
    }


WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'PROXY_HOP_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def bench_headers() -> dict[str, str]:
    # Sent to every row, so the baseline (department directly) is authorised
    # and every proxy has a request id to propagate.
    return {"Authorization": f"Bearer {TOKEN}", "X-Request-ID": LOADGEN_REQUEST_ID}


def wrk_version(wrk: str | None) -> str:
    if wrk is None:
        return "unknown"
    try:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=5, check=False)
        return (out.stdout or out.stderr).splitlines()[0].split(" Copyright")[0].strip()
    except Exception:
        return "unknown"


class LoadGen:
    def __init__(self, kind: str, args: argparse.Namespace, procs: Processes, tmpdir: str):
        self.kind, self.args, self.procs, self.tmpdir = kind, args, procs, tmpdir
        self.wrk = shutil.which("wrk")
        if kind == "wrk":
            self.lua = os.path.join(tmpdir, "report.lua")
            with open(self.lua, "w") as fh:
                fh.write(WRK_LUA)
            self.description = f"{wrk_version(self.wrk)} (-t{args.threads} -c{args.connections})"
        else:
            self.description = (
                f"python aiohttp {metadata.version('aiohttp')} in a separate process ({args.connections} connections)"
            )

    def _run(self, cmd: list[str], limit: float) -> str:
        out_path = os.path.join(self.tmpdir, "loadgen.out")
        proc = self.procs.start(cmd, out_path)
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"load generator still running after {limit:.0f} s: {cmd}") from exc
        finally:
            self.procs.stop(proc)
        with open(out_path, errors="replace") as fh:
            text = fh.read()
        if proc.returncode != 0:
            raise RuntimeError(f"load generator exited {proc.returncode}:\n{text[-2000:]}")
        return text

    @staticmethod
    def _parse(text: str) -> dict[str, Any]:
        for line in text.splitlines():
            if line.startswith("PROXY_HOP_RESULT "):
                return json.loads(line.split(" ", 1)[1])
        raise RuntimeError(f"no result line in load generator output:\n{text[-2000:]}")

    def _wrk_cmd(self, url: str, seconds: int, headers: dict[str, str]) -> list[str]:
        assert self.wrk is not None, "wrk is not on PATH"
        cmd = [
            self.wrk,
            f"-t{self.args.threads}",
            f"-c{self.args.connections}",
            f"-d{seconds}s",
            f"--timeout={self.args.timeout}s",
            "-s",
            self.lua,
        ]
        for k, v in headers.items():
            cmd += ["-H", f"{k}: {v}"]
        return [*cmd, url]

    def run(self, url: str, seconds: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """One bounded load run of ``seconds`` against ``url`` (fresh connections)."""
        a = self.args
        headers = bench_headers() if headers is None else headers
        if self.kind == "wrk":
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            r = self._parse(self._run(self._wrk_cmd(url, seconds, headers), seconds + 30))
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            secs = r["duration_us"] / 1e6
            return {
                "requests": r["requests"],
                "duration_s": secs,
                "rps": r["requests"] / secs if secs else 0.0,
                "p50_ms": r["p50_us"] / 1e3,
                "p90_ms": r["p90_us"] / 1e3,
                "p99_ms": r["p99_us"] / 1e3,
                "max_ms": r["max_us"] / 1e3,
                "errors_status": r["err_status"],
                "errors_socket": r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"],
                # wrk is the only child reaped during the run.
                "loadgen_cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
            }
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "loadgen",
            "--url",
            url,
            "--connections",
            str(a.connections),
            "--warmup",
            "0",
            "--duration",
            str(seconds),
            "--timeout",
            str(a.timeout),
        ]
        for k, v in headers.items():
            cmd += ["--header", f"{k}: {v}"]
        r = self._parse(self._run(cmd, seconds + 60))
        r["rps"] = r["requests"] / r["duration_s"] if r["duration_s"] else 0.0
        return r


def measure_row(
    name: str,
    url: str,
    loadgen: LoadGen,
    warmup: int,
    duration: int,
    watch: dict[str, int],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Warm-up run, then the measured run; server and host CPU are sampled
    around the measured run only."""
    if warmup > 0:
        loadgen.run(url, warmup, headers)
    before = {role: proc_cpu_seconds(pid) for role, pid in watch.items()}
    host0 = host_cpu_times()
    t0 = time.monotonic()
    result = loadgen.run(url, duration, headers)
    wall = time.monotonic() - t0
    host1 = host_cpu_times()
    cpu: dict[str, float] = {}
    cpu_s: dict[str, float] = {}
    for role, pid in watch.items():
        started, after = before[role], proc_cpu_seconds(pid)
        if started is not None and after is not None and wall > 0:
            cpu_s[role] = after - started
            cpu[role] = 100.0 * cpu_s[role] / wall
    measured_wall = result["duration_s"]
    cpu["loadgen"] = 100.0 * result["loadgen_cpu_s"] / measured_wall if measured_wall else 0.0
    if host0 and host1 and host1[1] > host0[1]:
        ncpu = os.cpu_count() or 1
        cpu["host"] = 100.0 * ncpu * (host1[0] - host0[0]) / (host1[1] - host0[1])
        # Whatever else ran on the machine meanwhile (contention on 2 cores).
        cpu["other"] = max(0.0, cpu["host"] - sum(v for k, v in cpu.items() if k != "host"))
    # CPU time the serving process spends per request: the front process is
    # the proxy (or the department for the baseline).  Unlike req/s this hardly
    # moves when other work competes for the cores.
    front = "proxy" if "proxy" in cpu_s else "department"
    if result["requests"] and front in cpu_s:
        result["front_cpu_ms_per_req"] = 1e3 * cpu_s[front] / result["requests"]
    result.update(variant=name, url=url, cpu_percent=cpu, cpu_seconds=cpu_s)
    return result


def fmt_ratio(value: float, ref: float | None) -> str:
    return f"{value / ref:.2f}x" if ref else "-"


def render_table(results: list[dict[str, Any]]) -> str:
    by_name = {r["variant"]: r for r in results}
    ref = by_name.get(REFERENCE_VARIANT, {}).get("rps")
    base = by_name.get(BASELINE, {}).get("rps")
    head = [
        "variant",
        "req/s",
        "p50 ms",
        "p99 ms",
        f"vs {REFERENCE_VARIANT}",
        "vs baseline",
        "errors",
        "cpu ms/req",
        "cpu% proxy",
        "cpu% dept",
        "cpu% loadgen",
        "cpu% other",
        "cpu% host",
    ]
    rows = [head]
    for r in results:
        c = r["cpu_percent"]
        pct = {k: f"{c[k]:.0f}" if k in c else "-" for k in ("proxy", "department", "loadgen", "other", "host")}
        rows.append(
            [
                r["variant"],
                f"{r['rps']:,.0f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                fmt_ratio(r["rps"], ref),
                fmt_ratio(r["rps"], base),
                str(r["errors_status"] + r["errors_socket"]),
                f"{r['front_cpu_ms_per_req']:.3f}" if "front_cpu_ms_per_req" in r else "-",
                pct["proxy"],
                pct["department"],
                pct["loadgen"],
                pct["other"],
                pct["host"],
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def parse_run_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="proxy_hop.py",
        description="Throughput and latency of one FastAPI -> FastAPI proxy hop on loopback, "
        "per HTTP client transport.",
        epilog="Subcommands used internally: serve-department, serve-proxy, loadgen (see the module docstring).",
    )
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated proxy variants (default: all: {','.join(VARIANTS)}); "
        "the baseline (department alone) is always measured",
    )
    p.add_argument(
        "--extra-variant",
        action="append",
        default=[],
        metavar="[NAME=]MODULE:FUNC",
        help="also measure a proxy app built by the zero-argument factory MODULE:FUNC (repeatable)",
    )
    p.add_argument("--connections", "-c", type=int, default=32, help="concurrent connections (32)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up seconds per row (2)")
    p.add_argument("--duration", type=int, default=10, help="measured seconds per row (10)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    p.add_argument("--timeout", type=int, default=5, help="per-request timeout seconds (5)")
    p.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk if installed, else the Python (aiohttp) load generator",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    a = p.parse_args(argv)
    if a.duration < 1 or a.warmup < 0 or a.connections < 1:
        p.error("need --duration >= 1, --warmup >= 0, --connections >= 1")
    names = [n.strip() for n in a.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    specs: list[tuple[str, str]] = [(n, n) for n in names]
    for extra in a.extra_variant:
        name, sep, spec = extra.partition("=")
        if not sep:
            name, spec = extra.rsplit(":", 1)[-1], extra
        if ":" not in spec:
            p.error(f"--extra-variant wants [NAME=]module:function, got {extra!r}")
        specs.append((name, spec))
    seen = set()
    for name, _ in specs:
        if name in seen or name == BASELINE:
            p.error(f"duplicate variant name {name!r}")
        seen.add(name)
    a.specs = specs
    return a


def run(argv: list[str]) -> int:
    args = parse_run_args(argv)
    facts = machine_facts()

    kind = args.loadgen
    if kind == "auto":
        kind = "wrk" if shutil.which("wrk") else "python"
        if kind == "python":
            print(
                "note: wrk not found; falling back to the Python aiohttp load generator, which "
                "competes for the same 2 cores.\n      install wrk for better figures: "
                "apt-get install wrk",
                file=sys.stderr,
            )
    elif kind == "wrk" and not shutil.which("wrk"):
        print("error: wrk not found (install: apt-get install wrk)", file=sys.stderr)
        return 2

    procs = Processes()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="proxy_hop_") as tmpdir:
        try:
            loadgen = LoadGen(kind, args, procs, tmpdir)
            script = os.path.abspath(__file__)

            dept_port = free_port()
            dept_log = os.path.join(tmpdir, "department.log")
            dept_info = os.path.join(tmpdir, "department.json")
            dept = procs.start(
                [sys.executable, script, "serve-department", "--port", str(dept_port), "--info-file", dept_info],
                dept_log,
            )
            dept_base = f"http://{HOST}:{dept_port}"
            expected = wait_ready(dept, f"{dept_base}/vehicles/{READY_PLATE}/fines", bench_headers(), dept_log)
            info = read_info(dept_info)
            facts["uvicorn_loop"] = info.get("loop", "unknown")
            facts["uvicorn_http"] = info.get("http", "unknown")
            facts["loadgen"] = loadgen.description
            facts["response_bytes"] = len(expected)

            print_facts(facts, args)

            rows: list[tuple[str, str | None]] = [(BASELINE, None), *args.specs]
            for name, spec in rows:
                print(f"... measuring {name}", file=sys.stderr, flush=True)
                if spec is None:
                    url = f"{dept_base}/vehicles/{BENCH_PLATE}/fines"
                    results.append(
                        measure_row(name, url, loadgen, args.warmup, args.duration, {"department": dept.pid})
                    )
                    results[-1]["server_info"] = info
                    continue
                port = free_port()
                log = os.path.join(tmpdir, f"proxy-{port}.log")
                pinfo_path = os.path.join(tmpdir, f"proxy-{port}.json")
                proxy = procs.start(
                    [
                        sys.executable,
                        script,
                        "serve-proxy",
                        "--variant",
                        spec,
                        "--port",
                        str(port),
                        "--upstream",
                        dept_base,
                        "--info-file",
                        pinfo_path,
                    ],
                    log,
                )
                try:
                    base = f"http://{HOST}:{port}"
                    body = wait_ready(proxy, f"{base}/fines?plate={READY_PLATE}", bench_headers(), log)
                    if json.loads(body) != json.loads(expected):
                        raise RuntimeError(f"{name}: proxy answer differs from the department's: {body[:300]!r}")
                    url = f"{base}/fines?plate={BENCH_PLATE}"
                    row = measure_row(
                        name, url, loadgen, args.warmup, args.duration, {"proxy": proxy.pid, "department": dept.pid}
                    )
                    row["server_info"] = read_info(pinfo_path)
                    if proxy.poll() is not None:
                        raise RuntimeError(f"{name}: proxy died during the run:\n{log_tail(log)}")
                    results.append(row)
                finally:
                    procs.stop(proxy)
        except KeyboardInterrupt:
            print("\ninterrupted; stopping servers", file=sys.stderr)
            return 130
        finally:
            procs.stop_all()

    print()
    print(render_table(results))
    print()
    print(
        f"req/s over a {args.duration} s window after {args.warmup} s warm-up, "
        f"{args.connections} connections.\ncpu ms/req: CPU time of the proxy (baseline: the department) "
        "per request; cpu% = percent of one core\n"
        f"(host: all {os.cpu_count()} cores, max {100 * (os.cpu_count() or 1)}; "
        "other: host minus the processes listed), all over the measured window."
    )
    busy = [
        f"{r['variant']} ({r['cpu_percent']['other']:.0f}%)"
        for r in results
        if r["cpu_percent"].get("other", 0.0) > 20.0
    ]
    if busy:
        print(
            "WARNING: other processes used CPU during: " + ", ".join(busy) + "; on 2 cores that "
            "lowers req/s (cpu ms/req is less affected). Re-run on a quiet machine."
        )
    errs = sum(r["errors_status"] + r["errors_socket"] for r in results)
    if errs:
        print(f"WARNING: {errs} failed requests (non-2xx or socket errors); see --json output.")

    if args.json:
        payload = {
            "command": " ".join([os.path.basename(sys.executable), "benchmarks/proxy_hop.py", *argv]),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": facts,
            "settings": {
                "connections": args.connections,
                "warmup_s": args.warmup,
                "duration_s": args.duration,
                "wrk_threads": args.threads,
                "timeout_s": args.timeout,
                "loadgen": kind,
            },
            "results": results,
        }
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {args.json}")
    return 0


def print_facts(facts: dict[str, Any], args: argparse.Namespace) -> None:
    pk = facts["packages"]
    print(f"nproc:        {facts['nproc']} (os.cpu_count {facts['cpu_count']})")
    print(f"cpu:          {facts['cpu_model']}")
    print(f"kernel:       {facts['kernel']}   loadavg at start: {facts['loadavg_at_start']}")
    print(f"python:       {facts['python']}")
    print("packages:     " + ", ".join(f"{k} {v}" for k, v in pk.items()))
    print(
        f"uvicorn:      1 worker per server, no access log, loop={facts['uvicorn_loop']}, http={facts['uvicorn_http']}"
    )
    print(f"load gen:     {facts['loadgen']}, warm-up {args.warmup} s, measured {args.duration} s per row")
    print(f"payload:      {facts['response_bytes']} bytes of JSON (2 fines)", flush=True)


def main() -> int:
    # SIGTERM/SIGHUP -> normal exit path, so the finally blocks stop the servers.
    def _exit(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    argv = sys.argv[1:]
    sub = {"serve-department": cmd_serve_department, "serve-proxy": cmd_serve_proxy, "loadgen": cmd_loadgen}
    if argv and argv[0] in sub:
        sub[argv[0]](argv[1:])
        return 0
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)
    try:
        return run(argv)
    except RuntimeError as exc:  # servers are already stopped by run()'s finally
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
