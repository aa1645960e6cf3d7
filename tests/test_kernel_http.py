"""problem+json for every error, healthz, request ids across services, keys, OpenAPI."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
from urllib.parse import quote

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import MetaData

from kernel.keys import KEY_FILE
from kernel.regime import Regime
from kernel.service_app import build_service_app
from services.fines.demo import DEMO_PLATE
from services.fines.settings import Settings as FinesSettings
from tests.support import ROOT, assert_problem


class Booking(BaseModel):
    slot: int = Field(gt=0)
    name: str


def probe_app(tmp_path, database_url: str | None = None):
    """A service app with routes that fail in the ways services fail."""
    router = APIRouter()

    @router.post("/bookings")
    def book(booking: Booking) -> Booking:
        return booking

    @router.get("/boom")
    def boom() -> dict:
        raise RuntimeError("secret internal detail")

    settings = FinesSettings(data_dir=tmp_path / "probe", database_url=database_url)
    return build_service_app(settings, title="probe", metadata=MetaData(), routers=[router])


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://probe")


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
            yield oversized[start:start + 8192]

    async with client_for(probe_app(tmp_path)) as client:
        declared = await client.post("/bookings", content=oversized, headers={"content-type": "application/json"})
        chunked = await client.post("/bookings", content=streamed(), headers={"content-type": "application/json"})
    for response in (declared, chunked):
        assert_problem(response, 413, "body-too-large")


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(tmp_path, caplog):
    async with client_for(probe_app(tmp_path)) as client:
        response = await client.get("/boom")
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]
    assert any("secret internal detail" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


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
    caplog.set_level(logging.INFO, logger="citygate.access")
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with mesh.client("gateway") as gateway:
        response = await gateway.get(f"/demo/vehicles/{quote(DEMO_PLATE)}/fines",
                                     headers={"X-Request-ID": "citizen-req-42", "traceparent": traceparent})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "citizen-req-42"
    lines = [r for r in caplog.records if r.name == "citygate.access" and getattr(r, "path", "").endswith("/fines")]
    services = {r.path.split("/")[1]: r for r in lines}
    assert set(services) == {"demo", "vehicles"}, lines  # the gateway's route and the department's
    for record in lines:
        assert record.request_id == "citizen-req-42"
        assert record.trace_id == "0af7651916cd43dd8448eb211c80319c"


async def test_a_request_without_ids_gets_fresh_ones_and_a_malformed_one_is_replaced(tmp_path):
    async with client_for(probe_app(tmp_path)) as client:
        first = await client.get("/healthz")
        injected = await client.get("/healthz", headers={"X-Request-ID": "bad\nid " * 40})
    assert len(first.headers["x-request-id"]) == 16
    assert "\n" not in injected.headers["x-request-id"] and len(injected.headers["x-request-id"]) == 16


def test_a_signing_key_is_created_at_first_start_private_to_the_service_and_kept(tmp_path):
    first = probe_app(tmp_path).state.signing_key
    key_file = tmp_path / "probe" / "keys" / KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key_file.parent).st_mode) == 0o700
    assert probe_app(tmp_path).state.signing_key.kid == first.kid


def test_two_services_never_share_a_key(tmp_path):
    a = FinesSettings(data_dir=tmp_path / "a")
    b = FinesSettings(data_dir=tmp_path / "b", regime=Regime.PLATFORM)
    assert build_service_app(a, title="a", metadata=MetaData()).state.signing_key.kid != \
        build_service_app(b, title="b", metadata=MetaData()).state.signing_key.kid


def test_the_runtime_data_directory_is_ignored_by_git():
    for path in ("var/rights/identity/keys/signing-key.pem", "var/platform/fines/fines.db"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path


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
        "FinePublic")
    assert operation["security"] == [{"HTTPBearer": []}]
