"""The kernel's typed state and the dependencies every service shares."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData

from kernel.dependencies import MAX_IDEMPOTENCY_KEY_LENGTH, IdempotencyKeyDep
from kernel.problems import install_problem_handlers
from kernel.service_app import build_service_app
from kernel.state import ServiceState, state_of
from services.fines.settings import Settings as FinesSettings
from tests.fixtures.problems import assert_problem


@dataclass(kw_only=True, eq=False)
class ProbeState(ServiceState[FinesSettings]):
    answer: int = 0


@dataclass(kw_only=True, eq=False)
class OtherState(ServiceState[FinesSettings]):
    pass


def probe_app(tmp_path: Path, state: Callable[..., ServiceState[Any]] = ServiceState) -> FastAPI:
    settings = FinesSettings(data_dir=tmp_path / "probe")
    return build_service_app(settings, title="probe", metadata=MetaData(), state=state)


def test_a_service_reads_its_own_state_by_its_class(tmp_path: Path) -> None:
    app = probe_app(tmp_path, state=functools.partial(ProbeState, answer=42))
    assert state_of(app, ProbeState).answer == 42
    assert state_of(app, ServiceState) is state_of(app, ProbeState)  # the kernel reads it as a ServiceState


def test_state_of_refuses_another_kind_of_state(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="ServiceState, not ProbeState"):
        state_of(probe_app(tmp_path), ProbeState)
    with pytest.raises(TypeError, match="ProbeState, not OtherState"):
        state_of(probe_app(tmp_path, state=ProbeState), OtherState)


def test_state_of_refuses_an_app_without_one() -> None:
    with pytest.raises(TypeError, match="NoneType, not ServiceState"):
        state_of(FastAPI(), ServiceState)


def test_connections_exist_only_while_the_app_serves(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not serving"):
        _ = state_of(probe_app(tmp_path), ServiceState).services


# --- Idempotency-Key ------------------------------------------------------------------------------


def idempotent_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/payments")
    async def pay(key: IdempotencyKeyDep) -> dict[str, str]:
        return {"key": key}

    return app


@asynccontextmanager
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=idempotent_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as probe:
        yield probe


async def test_a_request_without_an_idempotency_key_is_refused() -> None:
    async with client() as probe:
        body = assert_problem(await probe.post("/payments"), 400, "idempotency-key-missing")
    assert "Idempotency-Key" in body["detail"]


@pytest.mark.parametrize(
    "key",
    [b"", b"k" * (MAX_IDEMPOTENCY_KEY_LENGTH + 1), "clé".encode(), b"tab\there"],
    ids=["empty", "too-long", "not-ascii", "not-printable"],
)
async def test_an_idempotency_key_out_of_bounds_is_refused(key: bytes) -> None:
    async with client() as probe:
        assert_problem(await probe.post("/payments", headers={b"Idempotency-Key": key}), 400, "invalid-idempotency-key")


@pytest.mark.parametrize("key", ["k", "order-2024-0001", "k" * MAX_IDEMPOTENCY_KEY_LENGTH])
async def test_an_idempotency_key_is_handed_to_the_route(key: str) -> None:
    async with client() as probe:
        response = await probe.post("/payments", headers={"Idempotency-Key": key})
    assert response.status_code == 200 and response.json() == {"key": key}
