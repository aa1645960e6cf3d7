"""The gateway's problem catalogue (superapp_gateway/errors.py) and its OpenAPI: each route lists
the problem kinds it can answer, and every kind the gateway declares is listed where it can happen."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from kernel.problems import PROBLEM_TYPE_PREFIX, Problem, problem_classes
from kernel.regime import Regime
from superapp_gateway import errors
from superapp_gateway.app import create_app
from superapp_gateway.settings import Settings

KIND = re.compile(re.escape(PROBLEM_TYPE_PREFIX) + r"([a-z0-9-]+)")
# The routes a logged-in citizen calls (CurrentSession), by path.
CITIZEN_PATHS = re.compile(r"^/(city-services|wallet|courier|me/)")


def listed_kinds(operation: dict[str, Any]) -> set[str]:
    return {kind for response in operation["responses"].values() for kind in KIND.findall(response["description"])}


def operations(tmp_path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of both regimes' gateways (the same routes; the demo's too)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for regime in Regime:
        app = create_app(Settings(regime=regime, data_dir=tmp_path / regime.value, demo=True))
        for path, methods in app.openapi()["paths"].items():
            for method, operation in methods.items():
                found[(method.upper(), path)] = operation
    return found


def declared() -> set[type[Problem]]:
    return {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, Problem) and cls.__module__ == errors.__name__ and cls.__dict__.get("kind")
    }


def test_every_kind_the_gateway_declares_is_listed_by_a_route_that_can_answer_it(tmp_path: Path) -> None:
    listed = set().union(*(listed_kinds(operation) for operation in operations(tmp_path).values()))
    assert {cls.kind for cls in declared()} - listed == set()


def test_every_listed_kind_is_in_a_catalogue(tmp_path: Path) -> None:
    for (method, path), operation in operations(tmp_path).items():
        for kind in listed_kinds(operation):
            assert problem_classes(kind), (method, path, kind)


@pytest.mark.parametrize("kind", ["not-logged-in", "agreement-required"])
def test_every_citizen_route_lists_what_its_session_check_answers(tmp_path: Path, kind: str) -> None:
    citizens = {key: op for key, op in operations(tmp_path).items() if CITIZEN_PATHS.match(key[1])}
    assert len(citizens) > 15
    assert [key for key, operation in citizens.items() if kind not in listed_kinds(operation)] == []


def test_kinds_and_statuses_are_the_gateways_api() -> None:
    """Clients and tests rely on these; a change here is an API change."""
    assert {cls.kind: cls.status for cls in declared()} == {
        "not-logged-in": 401,
        "cross-origin-request": 403,
        "login-state-mismatch": 403,
        "unknown-login": 400,
        "login-refused": 401,
        "code-refused": 502,
        "invalid-id-token": 502,
        "agreement-required": 403,
        "agreement-version-mismatch": 409,
        "no-blanket-consent": 409,
        "not-shared": 403,
        "citizen-not-found": 404,
        "card-on-your-device": 403,
        "login-again": 401,
        "card-not-issued": 502,
        "card-unusable": 502,
        "department-unavailable": 503,
        "department-timeout": 504,
        "blind-courier-only": 403,
        "courier-not-offered": 404,
        "unknown-department": 404,
        "fine-not-found": 404,
        "booking-not-found": 404,
        "prescription-not-found": 404,
        "unknown-payee": 422,
        "insufficient-balance": 402,
        "payment-not-found": 404,
        "payment-in-doubt": 409,
        "payment-completed": 409,
        "payment-cancelled": 409,
        "bill-not-payable": 422,
        "unsafe-return-to": 400,
    }
