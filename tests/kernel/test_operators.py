"""A service's own operators (kernel/operators.py): ``Authorization: Operator <secret>``, the secret made
at the service's first start in its keys directory. Anything else is a 401 problem with a challenge."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData

from kernel.operators import (
    MAX_CREDENTIAL_LENGTH,
    OPERATOR_SECRET_FILE,
    Operator,
    load_or_create_operator_secret,
    operator_headers,
    operator_secret,
)
from kernel.problems import type_uri
from kernel.service_app import build_service_app
from kernel.state import ServiceState, state_of
from services.fines.app import create_app as create_fines_app
from services.fines.settings import Settings as FinesSettings
from tests.fixtures.problems import assert_problem

router = APIRouter()


@router.post("/desk")
def desk(operator: Operator) -> dict[str, str]:
    return {"at": "the desk"}


def probe_app(data_dir: Path) -> FastAPI:
    return build_service_app(FinesSettings(data_dir=data_dir), title="probe", metadata=MetaData(), routers=[router])


async def call(app: FastAPI, headers: dict[str, str] | list[tuple[bytes, bytes]]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
        return await client.post("/desk", headers=headers)


def secret_of(app: FastAPI) -> str:
    return state_of(app, ServiceState).operator_secret


def refused(response: httpx.Response) -> dict:
    problem = assert_problem(response, 401, "operator-unauthenticated")
    assert response.headers["www-authenticate"] == 'Operator realm="citygate"'
    return problem


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return probe_app(tmp_path / "probe")


async def test_the_services_own_secret_lets_its_operator_in(app: FastAPI) -> None:
    response = await call(app, operator_headers(secret_of(app)))
    assert response.status_code == 200, response.text
    assert response.json() == {"at": "the desk"}


@pytest.mark.parametrize(
    "authorization",
    [
        None,  # no header at all
        "",
        "Operator",  # the scheme without a credential
        "Operator ",
        "Basic b3BlcmF0b3I6c2VjcmV0",  # another scheme
        "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln",  # a token, whoever signed it, is not an operator
        "Operator not-the-secret",
        "Operator " + "x" * (MAX_CREDENTIAL_LENGTH + 1),  # refused before any comparison
    ],
    ids=["missing", "empty", "scheme-only", "scheme-and-space", "basic", "bearer", "wrong-secret", "over-long"],
)
async def test_anything_but_the_secret_is_a_401_with_a_challenge(app: FastAPI, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    refused(await call(app, headers))


async def test_the_right_secret_under_another_scheme_or_padded_is_refused(app: FastAPI) -> None:
    secret = secret_of(app)
    refused(await call(app, {"Authorization": f"Bearer {secret}"}))
    refused(await call(app, {"Authorization": f"Operator {secret}x"}))
    refused(await call(app, {"Authorization": f"Operator {secret[:-1]}"}))


async def test_a_credential_that_is_not_text_is_refused_not_a_server_error(app: FastAPI) -> None:
    refused(await call(app, [(b"authorization", b"Operator \xff\xfe" + secret_of(app).encode()[2:])]))


async def test_the_challenge_is_listed_on_the_route(app: FastAPI) -> None:
    responses = app.openapi()["paths"]["/desk"]["post"]["responses"]
    assert type_uri("operator-unauthenticated") in responses["401"]["description"]


def test_the_secret_is_private_and_stable_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "fines"
    first = create_fines_app(FinesSettings(data_dir=data_dir))
    path = data_dir / "keys" / OPERATOR_SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    secret = secret_of(first)
    assert len(secret) == 43  # 32 random bytes, base64url
    again = create_fines_app(FinesSettings(data_dir=data_dir))
    assert secret_of(again) == secret == operator_secret(data_dir / "keys")
    assert load_or_create_operator_secret(data_dir / "keys") == secret


def test_each_service_has_a_secret_of_its_own(tmp_path: Path) -> None:
    one, other = probe_app(tmp_path / "one"), probe_app(tmp_path / "other")
    assert secret_of(one) != secret_of(other)


async def test_another_services_secret_is_refused(tmp_path: Path) -> None:
    one, other = probe_app(tmp_path / "one"), probe_app(tmp_path / "other")
    refused(await call(one, operator_headers(secret_of(other))))


def test_reading_the_secret_before_the_first_start_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        operator_secret(tmp_path / "keys")
