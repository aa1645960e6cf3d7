"""The ground-truth file: the JSON of citygate.truth/1, a round trip, a private file written
atomically, and a clear refusal of what it cannot read."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from kernel.regime import Regime
from tests.fixtures.files import assert_private_tree
from tests.fixtures.narrowing import present
from workshop.population import truth as truth_module
from workshop.population.people import generate
from workshop.population.truth import (
    SCHEMA,
    FineFact,
    JourneyRecord,
    Truth,
    TruthInvalid,
    TruthMissing,
    TruthSchemaUnknown,
    persona_facts,
    persona_residents,
    read_truth,
    resident_from_json,
    resident_to_json,
    truth_path,
    truth_to_json,
    write_truth,
)

TODAY = date(2026, 11, 23)
SEED = 11
CHINA = timezone(timedelta(hours=8))
RESIDENT_KEYS = {
    "handle", "name", "latin_name", "resident_id", "sex", "birth_date", "phone", "district", "address", "plate",
    "spouse", "married_on", "conditions",
}  # fmt: skip
JOURNEY_KEYS = {
    "regime", "resident", "partner", "journey", "variant", "outcome", "detail", "steps", "prompts", "milliseconds",
    "finished_at",
}  # fmt: skip


def a_truth(count: int = 200) -> Truth:
    residents = [*persona_residents(TODAY), *generate(count, seed=SEED, today=TODAY)]
    truth = Truth(seed=SEED, today=TODAY, residents=residents, facts=persona_facts(TODAY))
    truth.facts.fines.append(
        FineFact(
            reference="cam-0001",
            plate=present(next(r.plate for r in residents[5:] if r.plate)),
            offence="Speeding",
            place="Guangzhou Avenue",
            occurred_at=datetime(2026, 11, 1, 8, 30, tzinfo=CHINA),
            amount_cents=20000,
            due_date=date(2026, 12, 1),
        )
    )
    truth.journeys.append(
        JourneyRecord(
            regime=Regime.RIGHTS,
            resident=residents[5].handle,
            journey="fines",
            variant="pay",
            outcome="succeeded",
            steps=6,
            prompts=2,
            milliseconds=123.4,
            finished_at=datetime(2026, 11, 23, 18, 0, tzinfo=CHINA),
        )
    )
    return truth


def test_every_kind_of_resident_goes_to_json_and_back():
    residents = [*persona_residents(TODAY), *generate(300, seed=SEED, today=TODAY)]
    assert any(r.spouse for r in residents) and any(r.plate for r in residents) and any(r.conditions for r in residents)
    for resident in residents:
        data = resident_to_json(resident)
        assert set(data) == RESIDENT_KEYS
        assert json.loads(json.dumps(data)) == data  # plain JSON values
        assert resident_from_json(data, seed=SEED) == resident


def test_a_generated_resident_read_with_another_seed_has_another_totp_secret():
    resident = generate(1, seed=SEED, today=TODAY)[0]
    assert (
        resident_from_json(resident_to_json(resident), seed=SEED + 1).persona.totp_secret
        != resident.persona.totp_secret
    )


def test_the_document_has_the_shape_the_report_reads():
    data = truth_to_json(a_truth())
    assert list(data) == ["schema", "seed", "today", "residents", "facts", "journeys"]
    assert (data["schema"], data["seed"]) == (SCHEMA, SEED)
    assert set(data["facts"]) == {"fines", "marriages", "prescriptions"}
    assert set(data["journeys"][0]) == JOURNEY_KEYS
    assert data["journeys"][0]["finished_at"] == "2026-11-23T10:00:00Z"  # in UTC
    assert data["journeys"][0]["regime"] == "rights"
    assert data["facts"]["fines"][-1]["occurred_at"] == "2026-11-01T00:30:00Z"
    assert data["facts"]["marriages"][0]["spouses"] == ["chen-jun", "zhang-min"]


def test_the_truth_is_written_and_read_back_as_it_was(tmp_path):
    truth = a_truth()
    path = truth_path(tmp_path / "var")
    assert path == tmp_path / "var" / "population" / "truth.json"
    write_truth(path, truth)
    assert read_truth(path) == truth
    assert read_truth(path).journeys[0].finished_at.tzinfo == UTC
    truth.journeys.append(truth.journeys[0])
    write_truth(path, truth)  # written again: replaced
    assert read_truth(path) == truth


def test_the_file_is_private_and_nothing_else_is_left_beside_it(tmp_path):
    path = truth_path(tmp_path / "var")
    path.parent.mkdir(parents=True, mode=0o755)
    path.write_text("{}")
    path.chmod(0o644)  # an older, readable file is replaced by a private one
    write_truth(path, a_truth(10))
    assert assert_private_tree(path.parent) == [path]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_failed_serialisation_leaves_the_old_truth_untouched(tmp_path, monkeypatch):
    path = truth_path(tmp_path)
    old = a_truth(10)
    write_truth(path, old)
    before = path.read_bytes()

    def broken(truth):
        raise RuntimeError("serialisation failed")

    monkeypatch.setattr(truth_module, "truth_to_json", broken)
    with pytest.raises(RuntimeError, match="serialisation failed"):
        write_truth(path, a_truth(20))
    assert path.read_bytes() == before
    assert list(path.parent.iterdir()) == [path]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failure_after_the_temporary_file_exists_leaves_the_old_truth_and_no_temporary_file(
    tmp_path, monkeypatch, failing
):
    path = truth_path(tmp_path)
    write_truth(path, a_truth(10))
    before = path.read_bytes()

    def broken(*args):
        raise OSError(f"{failing} failed")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(OSError, match=f"{failing} failed"):
        write_truth(path, a_truth(20))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert list(path.parent.iterdir()) == [path]


def test_a_missing_truth_says_to_populate_first(tmp_path):
    with pytest.raises(TruthMissing, match="citygate populate"):
        read_truth(truth_path(tmp_path))


@pytest.mark.parametrize("schema", ["citygate.truth/2", "citygate.report/1", None])
def test_another_schema_is_refused_naming_both(tmp_path, schema):
    path = truth_path(tmp_path)
    write_truth(path, a_truth(3))
    data = json.loads(path.read_text())
    if schema is None:
        del data["schema"]
    else:
        data["schema"] = schema
    path.write_text(json.dumps(data))
    with pytest.raises(TruthSchemaUnknown, match=re.escape(SCHEMA)) as refused:
        read_truth(path)
    assert (schema or "no schema") in str(refused.value)


def spoil_resident_id(data):
    resident = data["residents"][-1]
    last = resident["resident_id"][-1]
    resident["resident_id"] = resident["resident_id"][:-1] + ("0" if last != "0" else "1")


def spoil_sex(data):
    resident = data["residents"][-1]
    resident["sex"] = "male" if resident["sex"] == "female" else "female"


@pytest.mark.parametrize(
    "spoil",
    [
        spoil_resident_id,
        spoil_sex,
        lambda data: data["residents"].append(data["residents"][0]),  # a resident twice
        lambda data: data.update(seed=True),
        lambda data: data.update(seed="11"),
        lambda data: data.update(extra=1),
        lambda data: data.pop("journeys"),
        lambda data: data["residents"][0].update(password="citygate-demo"),
        lambda data: data["journeys"][0].update(outcome="maybe"),
        lambda data: data["journeys"][0].update(finished_at="2026-11-23T18:00:00"),  # no time zone
        lambda data: data["facts"]["fines"][0].update(amount_cents=-1),
    ],
)
def test_a_document_that_is_not_a_valid_truth_is_refused(tmp_path, spoil):
    path = truth_path(tmp_path)
    write_truth(path, a_truth(3))
    data = json.loads(path.read_text())
    spoil(data)
    path.write_text(json.dumps(data))
    with pytest.raises(TruthInvalid, match=re.escape(str(path))):
        read_truth(path)


@pytest.mark.parametrize("content", [b"", b'{"schema": "citygate.truth/1", "seed": 1, "resid', b"\xff\xfe", b"[]"])
def test_a_file_cut_short_or_not_json_is_refused(tmp_path, content):
    path = truth_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(TruthInvalid):
        read_truth(path)
