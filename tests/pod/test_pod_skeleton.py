"""The pod's shape (issue 14): typed state, one OpenAPI operation per method of the Solid routes,
each listing the problems it answers with, and the 405 of a method there is none for."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import pod
from kernel.problems import PROBLEM_TYPE_PREFIX
from kernel.regime import Regime
from kernel.state import state_of
from pod.access_control import AclCache
from pod.app import create_app
from pod.dependencies import PodState
from pod.settings import Settings

PACKAGE = Path(pod.__file__).parent
RESOURCE = "/pods/{rest}"
# besides what every route may answer (invalid-request, value-out-of-range, service-busy) and the token's kinds
ROUTE_KINDS: dict[tuple[str, str], set[str]] = {
    ("post", "/pods"): set(),
    ("get", "/me/pod/export"): {"no-pod"},
    ("delete", "/me/pod"): {"no-pod", "consent-unavailable", "upstream-error"},
    ("get", RESOURCE): {"invalid-path", "not-found", "forbidden", "not-acceptable", "no-consent", "purpose-missing"},
    ("head", RESOURCE): {"invalid-path", "not-found", "not-acceptable", "invalid-artefact", "subject-mismatch"},
    ("options", RESOURCE): {"invalid-path", "not-found"},
    ("put", RESOURCE): {
        "precondition-failed",
        "pod-busy",
        "content-type-missing",
        "invalid-rdf",
        "remote-context-refused",
        "invalid-acl",
        "path-conflict",
        "artefact-required",
        "resource-exists",
        "consent-unavailable",
        "artefact-expired",
    },
    ("post", RESOURCE): {"method-not-allowed", "unsupported-media-type", "precondition-failed", "pod-busy"},
    ("patch", RESOURCE): {
        "invalid-patch",
        "patch-conflict",
        "unprocessable-patch",
        "patch-too-complex",
        "unsupported-media-type",
        "precondition-failed",
    },
    ("delete", RESOURCE): {"container-not-empty", "precondition-failed", "pod-busy", "not-found"},
    # the demo's reset (kernel/demo_reset.py): absent without demo data, the operator's only
    ("post", "/demo/reset"): {"not-found", "operator-unauthenticated"},
}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(Settings(data_dir=tmp_path, regime=Regime.RIGHTS))


def documented_kinds(operation: dict[str, Any]) -> set[str]:
    described = " ".join(str(response.get("description", "")) for response in operation["responses"].values())
    return set(re.findall(re.escape(PROBLEM_TYPE_PREFIX) + r"([a-z-]+)", described))


def test_each_method_of_a_resource_is_its_own_operation_listing_its_problems(app: FastAPI) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warned "Duplicate Operation ID resource_pods__rest__get"
        spec = app.openapi()
    operations = {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if path not in ("/healthz", "/metrics", "/.well-known/jwks.json")
    }
    assert set(operations) == set(ROUTE_KINDS)
    assert len({operation["operationId"] for operation in operations.values()}) == len(operations)
    for route, kinds in ROUTE_KINDS.items():
        assert kinds <= documented_kinds(operations[route]), route


async def test_a_method_the_protocol_has_no_route_for_is_405_naming_those_it_has(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pod") as client:
        response = await client.request("TRACE", "/pods/someone/notes/")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}


def test_the_state_is_typed(app: FastAPI) -> None:
    state = state_of(app, PodState)
    assert isinstance(state.acl_cache, AclCache)
    assert state.base_url == state.settings.public_url


def test_the_models_module_declares_every_table_of_the_pod() -> None:
    listed = subprocess.run(
        [sys.executable, "-c", "from pod.models import PodTable; print(sorted(PodTable.metadata.tables))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listed.strip() == str(["pod", "pod_resource"])


def test_no_untyped_state_and_no_problem_built_from_a_status() -> None:
    for module in PACKAGE.rglob("*.py"):
        source = module.read_text()
        assert ".state." not in source.replace("state_of", ""), module
        assert not re.search(r"Problem\(\s*\d", source), module
