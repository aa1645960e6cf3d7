"""The consent service's shape (issue 14): typed state, its clock, its tables, and routes that say
which problems they answer with."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

import consent
from consent.app import create_app
from consent.dependencies import ConsentState
from consent.settings import Settings
from kernel.problems import PROBLEM_TYPE_PREFIX
from kernel.regime import Regime
from kernel.state import state_of

PACKAGE = Path(consent.__file__).parent
# every route of the service and the problem kinds it answers with, besides the ones every route
# may (invalid-request, value-out-of-range, service-busy) and those of the caller's token
ROUTE_KINDS: dict[tuple[str, str], set[str]] = {
    ("post", "/consent-requests"): {"unknown-term", "invalid-validity", "subject-unknown", "upstream-error"},
    ("post", "/legal-bases"): {"unknown-term", "legal-basis-not-in-law", "invalid-validity", "subject-unknown"},
    ("get", "/artefacts/{artefact_id}"): {"artefact-not-found"},
    ("post", "/decisions"): {"invalid-artefact", "artefact-expired", "subject-unknown", "upstream-unavailable"},
    ("post", "/erasures"): {"subject-unknown", "upstream-timeout"},
    ("get", "/me/artefacts"): set(),
    ("get", "/me/artefacts/{artefact_id}"): {"artefact-not-found"},
    ("post", "/me/artefacts/{artefact_id}/status"): {
        "artefact-not-found",
        "not-consent-based",
        "forbidden-transition",
        "request-lapsed",
    },
    ("get", "/me/access-log"): set(),
    ("get", "/ledger/tree-head"): set(),
    ("get", "/ledger/entries"): {"invalid-range", "beyond-tree-size"},
    ("get", "/ledger/roots/{tree_size}"): {"beyond-tree-size"},
    ("get", "/ledger/inclusion-proof"): {"beyond-tree-size"},
    ("get", "/ledger/consistency-proof"): {"invalid-range", "beyond-tree-size"},
    # the demo's reset (kernel/demo_reset.py): absent without demo data, the operator's only
    ("post", "/demo/reset"): {"not-found", "operator-unauthenticated"},
}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(Settings(data_dir=tmp_path, regime=Regime.RIGHTS))


def documented_kinds(operation: dict[str, Any]) -> set[str]:
    described = " ".join(str(response.get("description", "")) for response in operation["responses"].values())
    return set(re.findall(re.escape(PROBLEM_TYPE_PREFIX) + r"([a-z-]+)", described))


def test_every_route_lists_the_problems_it_answers_with_and_each_operation_is_named_once(app: FastAPI) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns of a duplicate operation id
        spec = app.openapi()
    operations = {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if path not in ("/healthz", "/metrics", "/.well-known/jwks.json", "/courier")
    }
    assert set(operations) == set(ROUTE_KINDS)
    for route, kinds in ROUTE_KINDS.items():
        assert kinds <= documented_kinds(operations[route]), route


def test_the_state_is_typed_and_the_book_keeps_the_services_clock(app: FastAPI) -> None:
    state = state_of(app, ConsentState)
    assert state.consent_book.ledger.database is state.database
    assert state.consent_book.issuer == state.tree_heads.log_id == state.settings.public_url
    moved = datetime(2030, 1, 1, tzinfo=UTC)
    state.clock = lambda: moved  # tests and workshops move the service's clock; the book follows
    assert state.consent_book.clock() == moved


def test_the_models_module_declares_every_table_of_the_service() -> None:
    # in a fresh interpreter, so that no other import has registered a table first
    listed = subprocess.run(
        [sys.executable, "-c", "from consent.models import ConsentTable; print(sorted(ConsentTable.metadata.tables))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listed.strip() == str(
        ["consent_artefact", "consent_subject_link", "ledger_entry", "ledger_head", "ledger_node"]
    )


def test_no_untyped_state_and_no_problem_built_from_a_status() -> None:
    for module in PACKAGE.rglob("*.py"):
        source = module.read_text()
        assert ".state." not in source.replace("state_of", ""), module
        assert not re.search(r"Problem\(\s*\d", source), module
