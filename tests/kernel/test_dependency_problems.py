"""A route's OpenAPI lists what its dependencies answer with (kernel.problems.answers), beside its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import MetaData

from kernel.citizens import CITIZEN_PROBLEMS, CurrentCitizen
from kernel.problems import NotFound, Problem, answers, problem_responses, type_uri, with_problems
from kernel.regime import Regime
from kernel.service_app import build_service_app
from kernel.tokens import SERVICE_CALLER_PROBLEMS, RequirePermission
from services.fines.app import create_app
from services.fines.settings import Settings as FinesSettings


class Teapot(Problem):
    status, kind = 418, "dependency-test-teapot"


@answers(Teapot)
def brews() -> str:
    return "tea"


def listed(responses: dict[str, Any], cls: type[Problem]) -> bool:
    entry = responses.get(str(cls.status))
    return entry is not None and f"`{type_uri(cls.kind)}`" in entry["description"]


def test_the_kinds_of_a_routes_dependencies_are_listed_with_its_own(tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/probe", responses=problem_responses(NotFound))
    def probe(
        _tea: str = Depends(brews),
        _caller: object = Depends(RequirePermission("fines:read")),
    ) -> dict[str, str]:
        return {}

    @router.get("/mine")
    def mine(citizen: CurrentCitizen) -> dict[str, str]:
        return {}

    app = build_service_app(
        FinesSettings(data_dir=tmp_path / "probe"), title="probe", metadata=MetaData(), routers=[router]
    )
    paths = app.openapi()["paths"]
    probe_responses = paths["/probe"]["get"]["responses"]
    expected: tuple[type[Problem], ...] = (NotFound, Teapot, *SERVICE_CALLER_PROBLEMS)
    for cls in expected:
        assert listed(probe_responses, cls), cls
    for cls in CITIZEN_PROBLEMS:
        assert listed(paths["/mine"]["get"]["responses"], cls), cls
    assert not listed(paths["/mine"]["get"]["responses"], Teapot)


def test_a_departments_routes_list_the_token_and_citizen_checks(tmp_path: Path) -> None:
    app = create_app(FinesSettings(regime=Regime.RIGHTS, data_dir=tmp_path / "fines"))
    paths = app.openapi()["paths"]
    for cls in SERVICE_CALLER_PROBLEMS:
        assert listed(paths["/fines/{fine_id}"]["get"]["responses"], cls), cls
    for cls in CITIZEN_PROBLEMS:
        assert listed(paths["/me/fines"]["get"]["responses"], cls), cls


def test_merging_keeps_a_routes_own_description_and_listed_kinds() -> None:
    own: dict[int | str, dict[str, Any]] = {
        404: {"description": "No such thing."},
        401: problem_responses(NotFound)[404] | {"description": "x"},
    }
    merged = with_problems(own, NotFound, *SERVICE_CALLER_PROBLEMS)
    assert str(merged[404]["description"]).startswith("No such thing.")
    assert f"`{type_uri(NotFound.kind)}`" in merged[404]["description"]
    assert f"`{type_uri('unauthenticated')}`" in merged[401]["description"]
