"""``citygate report`` against a data directory laid out as ``citygate up`` lays it out (each service's
SQLite database under ``<data dir>/<regime>/<service>/``), and against one that is not ready."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from kernel.regime import Regime
from kernel.resident_id import make_resident_id
from tests.fixtures.demo_journeys import run_demo_journeys
from tests.fixtures.matrix import PLATFORM_ONLY, SQLITE_ONLY
from tests.fixtures.report_truth import demo_truth
from workshop.cli import main

# what `citygate up` starts: the report reads every service's database
ALL_STARTED = pytest.mark.started("all")


def write_truth(root: Path, document: dict) -> None:
    (root / "population").mkdir(parents=True, exist_ok=True)
    (root / "population" / "truth.json").write_text(json.dumps(document), encoding="utf-8")


def test_a_stack_that_is_not_populated_says_so(tmp_path, capsys):
    assert main(["report", "--data-dir", str(tmp_path)]) == 1
    assert "no ground truth at" in capsys.readouterr().err


def test_missing_databases_are_each_named_and_nothing_is_created(tmp_path, capsys):
    write_truth(tmp_path, demo_truth())
    assert main(["report", "--data-dir", str(tmp_path), "--regime", "rights"]) == 1
    err = capsys.readouterr().err
    for service in ("gateway", "identity", "consent", "pod", "fines", "appointments", "prescriptions"):
        assert f"rights {service}: no database file {tmp_path / 'rights' / service / service}.db" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["population"]  # read only: nothing created


def test_a_truth_in_another_format_is_refused(tmp_path, capsys):
    write_truth(tmp_path, {"schema": "something/2"})
    assert main(["report", "--data-dir", str(tmp_path)]) == 1
    assert "this version of citygate reads 'citygate.truth/1'" in capsys.readouterr().err


@ALL_STARTED
@pytest.mark.regimes(Regime.PLATFORM)
@SQLITE_ONLY
async def test_the_report_of_a_data_directory_in_every_format(mesh, tmp_path, capsys):
    journeys = await run_demo_journeys(mesh)
    write_truth(tmp_path, demo_truth(journeys))
    root = str(tmp_path)
    assert main(["report", "--data-dir", root, "--regime", "platform", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "citygate.report/1" and [r["regime"] for r in document["regimes"]] == ["platform"]
    gateway = {c["class"]: c["held"] for c in document["regimes"][0]["exposure"] if c["party"] == "gateway"}
    assert gateway["medication"] == 1
    page = tmp_path / "report.html"
    assert main(["report", "--data-dir", root, "--regime", "platform", "--format", "html", "--output", str(page)]) == 0
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    tables = tmp_path / "report.txt"
    assert main(["report", "--data-dir", root, "--regime", "platform", "--output", str(tables)]) == 0
    assert "Exposure — who holds what, of 5 residents" in tables.read_text(encoding="utf-8")
    # the rights regime never ran here: asked for both, it names what is missing
    assert main(["report", "--data-dir", root]) == 1
    assert "rights identity: no database file" in capsys.readouterr().err


@ALL_STARTED
@PLATFORM_ONLY
@SQLITE_ONLY
async def test_a_regime_that_holds_none_of_the_truths_residents_is_refused(mesh, tmp_path, capsys):
    document = demo_truth()
    for number, resident in enumerate(document["residents"]):
        # people the stack never enrolled (valid numbers, with the same birth date and sex)
        born = date.fromisoformat(resident["birth_date"])
        sequence = 100 + 2 * number + (resident["sex"] == "male")  # odd for a man
        resident["resident_id"] = make_resident_id("110101", born, sequence)
    write_truth(tmp_path, document)
    assert main(["report", "--data-dir", str(tmp_path), "--regime", "platform"]) == 1
    assert "none of the truth's 5 residents is enrolled" in capsys.readouterr().err
    assert os.access(tmp_path / "platform" / "identity" / "identity.db", os.R_OK)
