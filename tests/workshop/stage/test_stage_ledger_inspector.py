"""The ledger inspector on the rights regime's real consent ledger: the signed tree head verified, the
entries, an inclusion and a consistency proof checked by the stage itself, and a tamper demo on the
stage's own copy that turns the audit red while the service's log stays as it was."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kernel.bounds import JSON_SAFE_MAX
from tests.fixtures.demo_journeys import get_a_prescription
from tests.fixtures.matrix import RIGHTS_ONLY, SQLITE_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.stage import stage_client

pytestmark = [RIGHTS_ONLY, SQLITE_ONLY, pytest.mark.started("all")]


def tree_size(html: str) -> int:
    found = re.search(r'<dd id="tree-size">(\d+)</dd>', html)
    assert found, html
    return int(found.group(1))


def verdict(html: str, result_id: str) -> str:
    found = re.search(rf'id="{result_id}" data-ok="(true|false)"', html)
    assert found, html
    return found.group(1)


async def test_the_inspector_verifies_the_head_and_checks_both_proofs(mesh: Mesh, tmp_path: Path) -> None:
    await get_a_prescription(mesh)  # consents and reads under them: the ledger grows
    async with stage_client(tmp_path, transport=mesh.transport) as client:
        page = await client.get("/ledger")
        size = tree_size(page.text)
        assert size >= 2
        assert 'id="head-verdict">✓ signature verified' in page.text
        assert page.text.count('<tr data-index="') == min(size, 20)
        checked = await client.get("/ledger", params={"entry": 1, "first": 1, "second": size})
    assert checked.status_code == 200
    assert verdict(checked.text, "inclusion-result") == "true"
    assert f"✓ Entry 1 in the signed tree of {size}" in checked.text
    assert verdict(checked.text, "consistency-result") == "true"
    assert f"The tree of 1 is a prefix of the tree of {size}" in checked.text
    assert "checked against the signed root" in checked.text


async def test_the_tamper_demo_turns_the_check_red_and_leaves_the_log_alone(mesh: Mesh, tmp_path: Path) -> None:
    await get_a_prescription(mesh)
    consent = await mesh.running("consent")
    ledger = consent.state.service.consent_book.ledger
    before = [row.entry for row in ledger.entries(0, ledger.size())]
    async with stage_client(tmp_path, transport=mesh.transport) as client:
        demo = await client.get("/ledger/tamper", params={"entry": 1}, headers={"HX-Request": "true"})
        again = await client.get("/ledger", params={"entry": 1})
    assert demo.status_code == 200
    assert verdict(demo.text, "honest-result") == "true"  # the log as served matches its signed head
    assert verdict(demo.text, "tampered-result") == "false"  # the copy does not, and the audit says where
    assert "entry 1 does not match the signed tree head" in demo.text
    assert verdict(demo.text, "tampered-inclusion-result") == "false"  # nor is the changed entry in the tree
    # the service's log is untouched: every entry as before, and the inspector still proves entry 1
    assert [row.entry for row in ledger.entries(0, ledger.size())] == before
    assert verdict(again.text, "inclusion-result") == "true"


@pytest.mark.parametrize(
    ("params", "status", "kind"),
    [
        ({"entry": 10_000}, 400, "beyond-tree-size"),
        ({"start": 10_000}, 400, "beyond-tree-size"),
        ({"entry": -1}, 422, "invalid-request"),
        ({"entry": JSON_SAFE_MAX + 1}, 422, "invalid-request"),
        ({"entry": "1; DROP TABLE"}, 422, "invalid-request"),
        ({"first": 0, "second": 1}, 400, "invalid-range"),
        ({"first": 2, "second": 1}, 400, "invalid-range"),
        ({"first": 1, "second": 10_000}, 400, "beyond-tree-size"),
    ],
    ids=[
        "entry-beyond",
        "page-beyond",
        "negative",
        "beyond-json",
        "not-a-number",
        "first-0",
        "first-gt-second",
        "second-beyond",
    ],
)
async def test_indexes_and_sizes_out_of_range_are_problems(
    mesh: Mesh, tmp_path: Path, params: dict[str, Any], status: int, kind: str
) -> None:
    await get_a_prescription(mesh)
    async with stage_client(tmp_path, transport=mesh.transport) as client:
        response = await client.get("/ledger", params=params)
    assert_problem(response, status, kind)


@pytest.mark.parametrize(("entry", "status", "kind"), [(10_000, 400, "beyond-tree-size"), (-5, 422, "invalid-request")])
async def test_the_tamper_demo_refuses_an_entry_the_log_does_not_have(
    mesh: Mesh, tmp_path: Path, entry: int, status: int, kind: str
) -> None:
    async with stage_client(tmp_path, transport=mesh.transport) as client:
        assert_problem(await client.get("/ledger/tamper", params={"entry": entry}), status, kind)
