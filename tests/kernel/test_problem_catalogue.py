"""The problem catalogue: one class per kind, kinds parsed back in one place, and the kernel's own kinds
exactly as clients know them."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData

from kernel import topology
from kernel.citizens import CITIZEN_PROBLEMS, NotACitizen
from kernel.client import (
    RelayedProblem,
    TokenRefused,
    UndeclaredCall,
    UnknownPeer,
    raise_for_upstream_problem,
    upstream_unavailable,
)
from kernel.courier import COURIER_PATH, CourierPathRefused, EnvelopeRefused, EnvelopeReplayed, courier_router
from kernel.limits import BodyTooLarge
from kernel.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_PREFIX,
    NotFound,
    Problem,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    UpstreamUnreachable,
    home_of,
    kind_of,
    problem_class,
    problem_classes,
    problem_responses,
    type_uri,
)
from kernel.service_app import build_service_app
from kernel.tokens import (
    SERVICE_CALLER_PROBLEMS,
    ForbiddenCaller,
    InvalidToken,
    IssuerKeysUnavailable,
    Unauthenticated,
)
from services.fines.settings import Settings as FinesSettings
from tests.fixtures.repository import ROOT

# What clients and tests match on: a kind's status and string never change with its class.
KERNEL_KINDS: dict[type[Problem], tuple[int, str]] = {
    Unauthenticated: (401, "unauthenticated"),
    InvalidToken: (401, "invalid-token"),
    ForbiddenCaller: (403, "forbidden-caller"),
    IssuerKeysUnavailable: (503, "issuer-keys-unavailable"),
    NotACitizen: (403, "not-a-citizen"),
    UndeclaredCall: (500, "undeclared-call"),
    UnknownPeer: (500, "unknown-peer"),
    TokenRefused: (502, "token-refused"),
    EnvelopeRefused: (400, "invalid-envelope"),
    CourierPathRefused: (400, "courier-path-refused"),
    EnvelopeReplayed: (409, "envelope-replayed"),
    BodyTooLarge: (413, "body-too-large"),
    UpstreamError: (502, "upstream-error"),
    UpstreamUnreachable: (503, "upstream-unavailable"),
    UpstreamTimeout: (504, "upstream-timeout"),
}


def every_problem_class() -> list[type[Problem]]:
    found: list[type[Problem]] = []
    pending = [Problem]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return found


def test_the_kernel_kinds_keep_their_status_and_string() -> None:
    for cls, (status, kind) in KERNEL_KINDS.items():
        assert (cls.status, cls.kind) == (status, kind), cls
        assert problem_class(kind) is cls


def test_every_kind_names_one_class_in_each_home_and_one_status_everywhere() -> None:
    """Of every service's catalogue (its errors module) and the kernel's, outside the tests."""
    for spec in topology.SERVICES:
        importlib.import_module(f"{spec.package}.app")  # the app imports every module whose problems it answers
    declared = [
        cls
        for cls in every_problem_class()
        if "kind" in cls.__dict__ and cls.kind is not None and not cls.__module__.startswith("tests.")
    ]
    assert declared
    for cls in declared:
        assert cls.kind is not None
        assert problem_class(cls.kind, home_of(cls)) is cls, f"{cls.__qualname__} shares its kind {cls.kind!r}"
        assert {other.status for other in problem_classes(cls.kind)} == {cls.status}, cls.kind


def test_a_second_class_claiming_a_kind_in_one_home_is_refused() -> None:
    class First(Problem):
        status, kind = 418, "catalogue-test-duplicate"

    with pytest.raises(TypeError, match="catalogue-test-duplicate"):

        class Second(Problem):
            status, kind = 418, "catalogue-test-duplicate"

    assert problem_class("catalogue-test-duplicate", "tests") is First


def test_two_services_may_declare_one_kind_with_one_status_but_not_a_kernel_kind() -> None:
    """Services import no other service, so the gateway and a department each declare ``fine-not-found``."""

    def declared_in(module: str, status: int, kind: str) -> type[Problem]:
        return type("Declared", (Problem,), {"__module__": module, "status": status, "kind": kind})

    gateways = declared_in("superapp_gateway.errors", 404, "catalogue-test-shared")
    departments = declared_in("services.fines.errors", 404, "catalogue-test-shared")
    assert set(problem_classes("catalogue-test-shared")) == {gateways, departments}
    with pytest.raises(TypeError, match="one status"):
        declared_in("identity.errors", 409, "catalogue-test-shared")
    with pytest.raises(TypeError, match="lives in the kernel"):
        declared_in("superapp_gateway.errors", 401, "unauthenticated")


def test_a_class_without_a_kind_is_not_catalogued() -> None:
    assert UpstreamUnavailable.kind is None and RelayedProblem.kind is None
    assert UpstreamUnavailable not in _catalogued() and RelayedProblem not in _catalogued()


def _catalogued() -> set[type[Problem]]:
    return {cls for cls in every_problem_class() if cls.kind is not None and cls in problem_classes(cls.kind)}


def test_the_kernel_raises_no_problem_without_a_class() -> None:
    """The legacy ``Problem(<status>, ..., kind=...)`` form: none left in the kernel."""
    legacy: list[str] = []
    for path in sorted((ROOT / "kernel").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "Problem"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, int)
            ):
                legacy.append(f"{path.name}:{node.lineno}")
    assert legacy == []


@pytest.mark.parametrize("cls", list(KERNEL_KINDS))
def test_kind_of_reads_back_what_type_uri_writes(cls: type[Problem]) -> None:
    assert cls.kind is not None
    assert kind_of(type_uri(cls.kind)) == cls.kind


@pytest.mark.parametrize("value", ["about:blank", "https://example.org/problems/x", PROBLEM_TYPE_PREFIX, None, 404, []])
def test_kind_of_is_none_for_anything_but_a_citygate_kind(value: object) -> None:
    assert kind_of(value) is None


def test_no_kind_is_about_blank() -> None:
    assert type_uri(None) == "about:blank"
    assert Problem("x").type == "about:blank"


def test_problem_responses_groups_the_kinds_by_status() -> None:
    responses = problem_responses(ForbiddenCaller, Unauthenticated, NotFound, InvalidToken)
    assert {401, 403, 404} <= set(responses) and list(responses) == sorted(responses, key=str)
    unauthorised = str(responses[401]["description"])
    assert f"`{type_uri('invalid-token')}`" in unauthorised and f"`{type_uri('unauthenticated')}`" in unauthorised
    assert type_uri("forbidden-caller") in str(responses[403]["description"])
    assert all(PROBLEM_MEDIA_TYPE in response["content"] for response in responses.values())


def test_the_auth_problems_a_route_lists() -> None:
    assert set(SERVICE_CALLER_PROBLEMS) >= {Unauthenticated, InvalidToken, ForbiddenCaller}
    assert set(CITIZEN_PROBLEMS) >= {Unauthenticated, InvalidToken, NotACitizen}
    assert set(problem_responses(*SERVICE_CALLER_PROBLEMS)) >= {401, 403, 503}


def test_the_courier_lists_what_it_answers_in_its_openapi(tmp_path: Path) -> None:
    app = build_service_app(
        FinesSettings(data_dir=tmp_path / "probe"), title="probe", metadata=MetaData(), routers=[courier_router()]
    )
    responses = app.openapi()["paths"][COURIER_PATH]["post"]["responses"]
    listed: tuple[type[Problem], ...] = (EnvelopeRefused, CourierPathRefused, EnvelopeReplayed)
    for cls in (*listed, *SERVICE_CALLER_PROBLEMS):
        assert type_uri(cls.kind) in responses[str(cls.status)]["description"], cls


# --- problems a call to another service ends in -------------------------------------------------


def upstream_answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_a_departments_problem_is_relayed_with_its_own_status_and_kind() -> None:
    answer = upstream_answer(
        404, {"type": type_uri("fine-not-found"), "title": "No such fine", "status": 404, "detail": "No fine 7."}
    )
    with pytest.raises(RelayedProblem) as relayed:
        raise_for_upstream_problem("fines", answer)
    problem = relayed.value
    assert (problem.status, problem.kind, problem.type) == (404, "fine-not-found", type_uri("fine-not-found"))
    assert (problem.title, problem.detail, problem.extensions) == ("No such fine", "No fine 7.", {"upstream": "fines"})
    assert problem_class("fine-not-found") is not RelayedProblem  # instances only: nothing catalogued
    assert Problem.status == 500  # and nothing changed on the classes
    assert RelayedProblem.status == 500


def test_a_relayed_problem_of_another_vocabulary_is_about_blank() -> None:
    with pytest.raises(RelayedProblem) as relayed:
        raise_for_upstream_problem("fines", upstream_answer(409, {"type": "https://example.org/conflict"}))
    assert (relayed.value.status, relayed.value.kind, relayed.value.type) == (409, None, "about:blank")
    assert relayed.value.phrase == "Conflict"


@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_anything_else_from_a_department_is_an_upstream_error(status: int) -> None:
    with pytest.raises(UpstreamError) as failed:
        raise_for_upstream_problem("fines", upstream_answer(status, {"type": type_uri("invalid-token")}))
    assert (failed.value.status, failed.value.kind) == (502, "upstream-error")
    assert failed.value.detail == f"The fines service answered {status}."


def test_a_department_out_of_reach_or_too_slow_is_an_upstream_unavailable() -> None:
    refused = upstream_unavailable("credit", httpx.ConnectError("refused"))
    slow = upstream_unavailable("credit", httpx.ReadTimeout("slow"))
    assert isinstance(refused, UpstreamUnreachable) and isinstance(slow, UpstreamTimeout)
    assert isinstance(refused, UpstreamUnavailable) and isinstance(slow, UpstreamUnavailable)
    assert (refused.status, refused.detail) == (503, "The credit service cannot be reached.")
    assert (slow.status, slow.detail) == (504, "The credit service did not answer in time.")
    assert refused.extensions == slow.extensions == {"upstream": "credit"}
