"""The identity provider on the service skeleton: its typed state, and every route's problems in its OpenAPI."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

import identity
from identity import errors
from identity.app import create_app
from identity.dependencies import IdentityState
from identity.policy import RightsPolicy
from identity.settings import Settings
from kernel.demo_reset import DemoOnly
from kernel.operators import OperatorUnauthenticated
from kernel.problems import PROBLEM_RESPONSES, Problem
from kernel.regime import Regime
from kernel.state import state_of
from kernel.tokens import SERVICE_CALLER_PROBLEMS

# The kernel's token check (RequirePermission) answers these; build_service_app lists them on the routes
# that use it (kernel.problems.answers).
SERVICE_CALLER = {cls.kind for cls in SERVICE_CALLER_PROBLEMS if cls.kind} - {
    kind for response in PROBLEM_RESPONSES.values() for kind in re.findall(r"problem:([a-z0-9-]+)", str(response))
}
# The kernel's operator check (kernel.operators.require_operator) answers this one.
OPERATOR = {OperatorUnauthenticated.kind}
# the kernel's answer of a demo-only route in a deployment without demo data (kernel/demo_reset.py)
DEMO_ONLY = {DemoOnly.kind}
# Every route that answers problems of its own, and their kinds.
ROUTE_PROBLEMS: dict[tuple[str, str], set[str]] = {
    ("post", "/sector-subjects"): {"invalid-resident-id", "citizen-not-found", "no-sector", *SERVICE_CALLER},
    ("post", "/sector-subjects/links"): {"unknown-client", "no-sector", "subject-not-found", *SERVICE_CALLER},
    ("get", "/userinfo"): {"not-a-relying-party", "insufficient-scope"},
    ("post", "/userinfo"): {"not-a-relying-party", "insufficient-scope"},
    ("post", "/credentials/id-card"): {"invalid-holder-key", "insufficient-scope"},
    ("post", "/credentials/verify"): {"invalid-presentation"},
    # the household registration office (the provider's own operators: kernel.operators)
    ("post", "/residents"): {"invalid-resident-id", "already-enrolled", *OPERATOR},
    # the demo's reset (kernel/demo_reset.py): absent without demo data, the operator's only
    ("post", "/demo/reset"): {*DEMO_ONLY, *OPERATOR},
    # the consent ledger's and the pod's subjects for the personas, for their demo reset
    ("get", "/demo/sector-subjects"): {*DEMO_ONLY, "no-sector", *SERVICE_CALLER},
}
# raised outside any route (none today: the demo seed's enrolment and the registration office's are one)
NO_ROUTE: set[str] = set()
PROBLEM_URI = re.compile(r"urn:citygate:problem:([a-z0-9-]+)")


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(Settings(regime=Regime.RIGHTS, data_dir=tmp_path / "identity"))


def _kinds(responses: dict[str, Any]) -> set[str]:
    return {kind for response in responses.values() for kind in PROBLEM_URI.findall(response.get("description", ""))}


def test_every_route_lists_the_problems_it_answers(app: FastAPI) -> None:
    everywhere = _kinds({str(status): response for status, response in PROBLEM_RESPONSES.items()})
    paths = app.openapi()["paths"]
    listed = {
        (method, path): _kinds(operation["responses"]) - everywhere
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "operations" not in operation.get("tags", ())  # the kernel's /healthz
    }
    assert {route: kinds for route, kinds in listed.items() if kinds} == ROUTE_PROBLEMS


def test_every_kind_of_the_catalogue_is_answered_by_a_route() -> None:
    catalogue = {
        cls.kind
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, Problem) and cls.__module__ == errors.__name__
    }
    assert catalogue == set().union(*ROUTE_PROBLEMS.values()) - SERVICE_CALLER - OPERATOR - DEMO_ONLY | NO_ROUTE


def test_the_token_endpoint_answers_oauth_errors_not_problems(app: FastAPI) -> None:
    responses = app.openapi()["paths"]["/oauth2/token"]["post"]["responses"]
    for status in ("400", "401"):
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OAuthError"}


def test_the_state_is_typed_and_tokens_to_the_provider_are_checked_against_its_own_keys(app: FastAPI) -> None:
    state = state_of(app, IdentityState)
    assert isinstance(state.policy, RightsPolicy)
    assert state.token_verifier is state.own_token_verifier  # no connection needed, no call to itself
    with pytest.raises(RuntimeError, match="not serving"):
        _ = state.server  # built once the app serves


def test_no_module_of_the_package_reads_the_untyped_app_state() -> None:
    package = Path(identity.__file__).parent
    readers = [path.name for path in sorted(package.rglob("*.py")) if "app.state" in path.read_text(encoding="utf-8")]
    assert readers == []
