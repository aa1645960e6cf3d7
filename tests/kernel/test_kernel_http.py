"""problem+json for every error, healthz, request ids across services, keys, OpenAPI."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import subprocess
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from kernel.dependencies import SessionDep
from kernel.keys import KEY_FILE
from kernel.observability import UNMATCHED_ROUTE, JsonLineFormatter, configure_logging
from kernel.regime import Regime
from kernel.service_app import build_service_app
from services.fines.settings import Settings as FinesSettings
from tests.fixtures.databases import postgres_databases
from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.problems import assert_problem
from tests.fixtures.repository import ROOT

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]


class Booking(BaseModel):
    slot: int = Field(gt=0)
    name: str


class Counter(BaseModel):
    value: int  # deliberately unbounded: the database refuses what routes forgot to bound


probe_metadata = MetaData()
counters = Table("counters", probe_metadata, Column("id", Integer, primary_key=True), Column("value", Integer))
RESIDENT_ID = "110105194912310021"


def probe_app(tmp_path, database_url: str | None = None):
    """A service app with routes that fail in the ways services fail."""
    router = APIRouter()

    @router.post("/bookings")
    def book(booking: Booking) -> Booking:
        return booking

    @router.get("/boom")
    def boom() -> dict:
        raise RuntimeError("secret internal detail")

    @router.get("/citizens/{resident_id}")
    def citizen(resident_id: str) -> dict:
        return {"known": False}

    @router.get("/citizens/{resident_id}/broken")
    def broken_query(resident_id: str, session: SessionDep) -> dict:
        session.execute(
            text("SELECT * FROM no_such_table WHERE resident_id = :resident_id"), {"resident_id": resident_id}
        )
        return {}

    @router.get("/busy")
    def busy() -> dict:
        # what SQLAlchemy's QueuePool raises when no connection is given back within its timeout
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00")

    @router.post("/counters", status_code=201)
    def count(counter: Counter, session: SessionDep) -> dict:
        session.execute(insert(counters).values(value=counter.value))
        session.commit()
        return {}

    settings = FinesSettings(data_dir=tmp_path / "probe", database_url=database_url)
    return build_service_app(settings, title="probe", metadata=probe_metadata, routers=[router])


@pytest.fixture
def log_lines() -> Iterator[list[dict]]:
    """Every log line as a service writes it: formatted by our formatter when it is emitted."""
    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Collect()
    handler.setFormatter(JsonLineFormatter("probe"))
    root, client_log = logging.getLogger(), logging.getLogger("httpx")
    previous_levels = root.level, client_log.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # the services' default level
    client_log.setLevel(logging.WARNING)  # as configure_logging sets it
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_levels[0])
        client_log.setLevel(previous_levels[1])


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://probe"
    )


async def test_an_unknown_route_is_a_404_problem(tmp_path):
    async with client_for(probe_app(tmp_path)) as client:
        response = await client.get("/no/such/thing")
    body = assert_problem(response, 404)
    assert body["type"] == "about:blank" and body["title"] == "Not Found" and body["instance"] == "/no/such/thing"


async def test_a_wrong_method_is_a_405_problem_with_allow(tmp_path):
    async with client_for(probe_app(tmp_path)) as client:
        response = await client.delete("/bookings")
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("payload", [{"slot": 0, "name": "x"}, {"name": "x"}, "not json at all"])
async def test_an_invalid_body_is_a_422_problem_listing_the_errors(tmp_path, payload):
    async with client_for(probe_app(tmp_path)) as client:
        if isinstance(payload, str):
            response = await client.post("/bookings", content=payload, headers={"content-type": "application/json"})
        else:
            response = await client.post("/bookings", json=payload)
    body = assert_problem(response, 422, "invalid-request")
    assert body["errors"] and all({"location", "message", "type"} <= set(error) for error in body["errors"])


async def test_an_oversized_body_is_a_413_problem(tmp_path):
    oversized = json.dumps({"slot": 1, "name": "x" * (65 * 1024)}).encode()

    async def streamed():  # no Content-Length: the limit must hold while reading
        for start in range(0, len(oversized), 8192):
            yield oversized[start : start + 8192]

    async with client_for(probe_app(tmp_path)) as client:
        declared = await client.post("/bookings", content=oversized, headers={"content-type": "application/json"})
        chunked = await client.post("/bookings", content=streamed(), headers={"content-type": "application/json"})
    for response in (declared, chunked):
        assert_problem(response, 413, "body-too-large")


async def test_a_request_answered_413_changed_nothing_even_when_its_first_chunks_were_a_whole_request(tmp_path):
    """The cut is not handed on as if the body had ended there: a complete JSON body in the first chunk and
    padding past the limit once made the route run (a row written, a pod resource truncated) behind the 413."""

    async def whole_then_padding():
        yield json.dumps({"value": 7}).encode()
        yield b" " * (65 * 1024)

    app = probe_app(tmp_path)
    async with app.router.lifespan_context(app), client_for(app) as client:
        assert_problem(
            await client.post("/counters", content=whole_then_padding(), headers={"content-type": "application/json"}),
            413,
            "body-too-large",
        )
        assert (await client.post("/counters", json={"value": 8})).status_code == 201  # the service is unharmed
    with app.state.service.database.session() as session:
        assert [row.value for row in session.execute(select(counters))] == [8]


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(tmp_path, caplog):
    async with client_for(probe_app(tmp_path)) as client:
        response = await client.get("/boom")
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]
    assert any("secret internal detail" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


async def test_the_access_log_names_the_route_template_never_the_resident_nor_the_query(tmp_path, log_lines):
    async with client_for(probe_app(tmp_path)) as client:
        found = await client.get(f"/citizens/{RESIDENT_ID}", params={"name": "Zhang Wei", "phone": "13800138000"})
        unknown = await client.get(f"/no/such/{RESIDENT_ID}", params={"name": "Zhang Wei"})
    assert (found.status_code, unknown.status_code) == (200, 404)
    written = json.dumps(log_lines, ensure_ascii=False)
    for personal in (RESIDENT_ID, "Zhang", "Wei", "13800138000"):
        assert personal not in written
    access = [line for line in log_lines if line["logger"] == "citygate.access"]
    assert [(line["path"], line["status"]) for line in access] == [
        ("/citizens/{resident_id}", 200),
        (UNMATCHED_ROUTE, 404),
    ]


async def test_a_500_body_and_its_log_lines_carry_the_same_request_id(tmp_path, log_lines):
    async with client_for(probe_app(tmp_path)) as client:
        chosen = await client.get("/boom", headers={"X-Request-ID": "citizen-req-500"})
        fresh = await client.get("/boom")
    for response in (chosen, fresh):
        request_id = assert_problem(response, 500)["request_id"]
        assert request_id == response.headers["x-request-id"]
        mine = [line for line in log_lines if line["request_id"] == request_id]
        assert {(line["logger"], line["msg"]) for line in mine} == {
            ("citygate.problems", "unhandled error"),
            ("citygate.access", "request"),
        }, log_lines
        assert next(line for line in mine if line["logger"] == "citygate.access")["status"] == 500
    assert chosen.headers["x-request-id"] == "citizen-req-500"


async def test_a_database_error_logs_no_query_parameters(tmp_path, log_lines):
    async with client_for(probe_app(tmp_path)) as client:
        response = await client.get(f"/citizens/{RESIDENT_ID}/broken")
    assert_problem(response, 500)
    error = next(line for line in log_lines if line["msg"] == "unhandled error")
    assert "no_such_table" in error["exc"]  # the traceback is there, for the operator
    assert RESIDENT_ID not in json.dumps(log_lines)


def test_a_service_process_logs_an_unhandled_error_once_with_its_request_id(capsys):
    """uvicorn logs a request's exception again after the kernel's 500 handler, with no request id
    (the request's context is gone): that copy is dropped, uvicorn's other messages are kept."""
    root, server_log = logging.getLogger(), logging.getLogger("uvicorn.error")
    saved = root.handlers[:], root.level, server_log.filters[:], server_log.handlers[:], server_log.propagate
    try:
        configure_logging(service="rights/probe")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            server_log.exception("Exception in ASGI application\n")
        server_log.error("Invalid HTTP request received.")
        written = capsys.readouterr().err
    finally:
        root.handlers[:], level, server_log.filters[:], server_log.handlers[:], server_log.propagate = saved
        root.setLevel(level)
    assert "Invalid HTTP request received." in written
    assert "Exception in ASGI application" not in written and "boom" not in written


async def test_a_value_the_database_cannot_store_is_a_422_problem_not_a_500(tmp_path, backend):
    async with contextlib.AsyncExitStack() as stack:
        url = stack.enter_context(postgres_databases("probe"))["probe"] if backend == "postgresql" else None
        app = probe_app(tmp_path, database_url=url)
        await stack.enter_async_context(app.router.lifespan_context(app))
        async with client_for(app) as client:
            stored = await client.post("/counters", json={"value": 7})
            # beyond SQLite's 64-bit INTEGER (OverflowError) and PostgreSQL's integer (DataError)
            too_large = [await client.post("/counters", json={"value": value}) for value in (2**31, 2**63, -(2**70))]
            after = await client.post("/counters", json={"value": 8})  # the service is unharmed
    assert stored.status_code == after.status_code == 201
    if backend == "sqlite":
        too_large = too_large[1:]  # 2**31 fits SQLite's INTEGER
    for response in too_large:
        body = assert_problem(response, 422, "value-out-of-range")
        assert str(2**63) not in response.text and "OverflowError" not in response.text and "SQL" not in response.text
        assert body["request_id"] == response.headers["x-request-id"]


async def test_an_exhausted_connection_pool_is_a_503_to_retry_not_a_500(tmp_path):
    async with client_for(probe_app(tmp_path)) as client:
        response = await client.get("/busy")
    body = assert_problem(response, 503, "service-busy")
    assert response.headers["retry-after"] == "1"
    assert "QueuePool" not in response.text and body["request_id"] == response.headers["x-request-id"]


async def test_healthz_is_200_when_the_database_answers(mesh):
    for name in mesh.apps:
        async with mesh.client(name) as client:
            response = await client.get("/healthz")
        assert response.status_code == 200, (name, response.text)
        assert response.json() == {"status": "ok", "service": name, "regime": mesh.regime.value}


async def test_healthz_is_a_503_problem_when_the_database_does_not_answer(tmp_path):
    # Nothing listens on port 1: a real connection failure, not a mocked one.
    app = probe_app(tmp_path, database_url="postgresql+psycopg://postgres@127.0.0.1:1/citygate?connect_timeout=2")
    async with client_for(app) as client:
        response = await client.get("/healthz")
    assert_problem(response, 503, "database-unavailable")


async def test_one_request_id_and_trace_follow_a_request_across_services(mesh, caplog):
    caplog.set_level(logging.INFO)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with mesh.client("gateway") as gateway:
        response = await gateway.get(
            f"/demo/vehicles/{quote(DEMO_PLATE)}/fines",
            headers={"X-Request-ID": "citizen-req-42", "traceparent": traceparent},
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "citizen-req-42"
    lines = [r for r in caplog.records if r.name == "citygate.access" and getattr(r, "path", "").endswith("/fines")]
    services = {r.path.split("/")[1]: r for r in lines}
    assert set(services) == {"demo", "vehicles"}, lines  # the gateway's route and the department's
    for record in lines:
        assert record.request_id == "citizen-req-42"
        assert record.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert services["vehicles"].path == "/vehicles/{plate}/fines"  # the route, not whose plate
    # httpx logs every URL it calls at INFO; configure_logging raises it to WARNING in a service
    written = "\n".join(JsonLineFormatter().format(record) for record in caplog.records if record.name != "httpx")
    assert DEMO_PLATE not in written and quote(DEMO_PLATE) not in written


async def test_a_request_without_ids_gets_fresh_ones_and_a_malformed_one_is_replaced(tmp_path):
    async with client_for(probe_app(tmp_path)) as client:
        first = await client.get("/healthz")
        injected = await client.get("/healthz", headers={"X-Request-ID": "bad\nid " * 40})
    assert len(first.headers["x-request-id"]) == 16
    assert "\n" not in injected.headers["x-request-id"] and len(injected.headers["x-request-id"]) == 16


def test_a_signing_key_is_created_at_first_start_private_to_the_service_and_kept(tmp_path):
    first = probe_app(tmp_path).state.service.signing_key
    key_file = tmp_path / "probe" / "keys" / KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key_file.parent).st_mode) == 0o700
    assert probe_app(tmp_path).state.service.signing_key.kid == first.kid


def test_two_services_never_share_a_key(tmp_path):
    a = FinesSettings(data_dir=tmp_path / "a")
    b = FinesSettings(data_dir=tmp_path / "b", regime=Regime.PLATFORM)
    assert (
        build_service_app(a, title="a", metadata=MetaData()).state.service.signing_key.kid
        != build_service_app(b, title="b", metadata=MetaData()).state.service.signing_key.kid
    )


def test_the_runtime_data_directory_is_ignored_by_git():
    for path in ("var/rights/identity/keys/signing-key.pem", "var/platform/fines/fines.db"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False).returncode == 0, path


async def test_every_service_serves_openapi_with_problem_schemas(mesh):
    for name in mesh.apps:
        async with mesh.client(name) as client:
            spec = (await client.get("/openapi.json")).json()
        assert "ProblemDetails" in spec["components"]["schemas"], name
        health = spec["paths"]["/healthz"]["get"]["responses"]
        assert "application/problem+json" in health["default"]["content"]
    async with mesh.client("fines") as client:
        fines_spec = (await client.get("/openapi.json")).json()
    operation = fines_spec["paths"]["/vehicles/{plate}/fines"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"].endswith(
        "FinePublic"
    )
    assert operation["security"] == [{"HTTPBearer": []}]
