"""The platform's shape: typed state, and every route lists, in its OpenAPI ``responses``, the
problem kinds it can answer (services/credit/errors.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kernel.problems import Problem
from kernel.regime import Regime
from kernel.state import state_of
from services.credit import errors
from services.credit.app import create_app
from services.credit.dependencies import CreditState
from services.credit.settings import Settings

Documented = dict[tuple[str, str], dict[str, set[str]]]

EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/records"): {"invalid-subject", "conflicting-credit-record"},
    ("POST", "/records/{source}/{reference}/settlement"): {"not-record-source", "credit-record-not-found"},
    ("GET", "/subjects/{subject}/restrictions"): {"invalid-subject"},
}
SHARED = {"422": {"invalid-request", "value-out-of-range"}, "503": {"service-busy"}}


def documented(spec: dict[str, Any]) -> Documented:
    return {
        (method.upper(), path): {
            status: set(re.findall(r"urn:citygate:problem:([a-z0-9-]+)", response.get("description", "")))
            for status, response in operation["responses"].items()
        }
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }


@pytest.fixture(scope="module")
def app_and_spec(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Documented]:
    data_dir: Path = tmp_path_factory.mktemp("credit")
    app = create_app(Settings(regime=Regime.PLATFORM, data_dir=data_dir, settlement_lag_seconds=90))
    return app, documented(app.openapi())


def test_the_typed_state_types_the_platforms_settings(app_and_spec: tuple[Any, Documented]) -> None:
    app, _ = app_and_spec
    assert state_of(app, CreditState).settings.settlement_lag.total_seconds() == 90


def test_every_route_lists_its_problems(app_and_spec: tuple[Any, Documented]) -> None:
    _, spec = app_and_spec
    for route, expected in EXPECTED.items():
        listed = set().union(*spec[route].values())
        assert expected <= listed, (route, expected - listed)
        for status, shared in SHARED.items():
            assert shared <= spec[route].get(status, set()), (route, status)
    # the report route keeps its documented "already reported" answer next to its problems
    assert "200" in spec[("POST", "/records")]


def test_every_kind_of_the_catalogue_is_answered_by_some_route(app_and_spec: tuple[Any, Documented]) -> None:
    _, spec = app_and_spec
    declared = {
        cls.kind
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, Problem) and cls.__module__ == errors.__name__ and cls.kind
    }
    listed = set().union(*(kinds for route in EXPECTED for kinds in spec[route].values()))
    assert declared <= listed, declared - listed
