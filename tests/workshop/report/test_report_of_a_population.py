"""The evidence end to end: a small population through the real services of each regime (in process,
SQLite and PostgreSQL), then the report from what the services stored, each figure checked against one
the test counts itself from the ground truth; the same run gives the same report."""

from __future__ import annotations

from datetime import date
from typing import Any

from kernel.regime import Regime
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.population import deployment_of
from tests.fixtures.report_truth import mesh_stores
from workshop.population.populate import populate
from workshop.population.truth import truth_path
from workshop.report.report import build_report
from workshop.report.truth import read_truth

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]

TODAY = date(2026, 12, 1)


def cell(section: dict[str, Any], party: str, attribute: str) -> tuple[str, int]:
    (found,) = [c for c in section["exposure"] if c["party"] == party and c["class"] == attribute]
    return found["state"], found["held"]


async def test_the_report_of_a_population_counts_what_the_parties_really_hold(mesh, tmp_path):
    await populate([deployment_of(mesh)], citizens=20, seed=3, today=TODAY, data_root=tmp_path)
    truth = read_truth(truth_path(tmp_path))
    report = build_report(truth, {mesh.regime: mesh_stores(mesh)})
    (section,) = report.document["regimes"]

    regime = mesh.regime.value
    # counted here from the truth, not by the report: who consulted a doctor, who owns a car
    patients = {
        run.resident
        for run in truth.journeys
        if (run.regime, run.journey, run.outcome) == (regime, "prescriptions", "succeeded")
    }
    assert patients, "the population's run issued no prescription: the check would be vacuous"
    everyone = {resident.handle for resident in truth.residents}
    owners = {resident.handle for resident in truth.residents if resident.plate}

    assert cell(section, "identity", "resident_id") == ("clear", len(everyone))
    assert cell(section, "fines", "plate") == ("clear", len(owners))
    if mesh.regime is Regime.PLATFORM:
        # the super-app keeps what it relayed: the medication of every patient, under the resident ID
        assert cell(section, "gateway", "medication") == ("clear", len(patients))
        assert cell(section, "fines", "resident_id") == ("clear", len(owners))
    else:
        assert cell(section, "gateway", "medication") == ("absent", 0)
        assert cell(section, "fines", "resident_id") == ("absent", 0)
        assert cell(section, "pod", "medication") == ("pseudonymised", len(patients))
        # every identifier two rights parties share (not a quasi-identifier, a time or an amount) is
        # there by design, and the report says why
        shared = [
            key
            for link in section["links"]
            for key in link["keys"]
            if not key["kind"].startswith(("quasi:", "timestamps", "amounts"))
        ]
        assert shared, "no two rights parties share an identifier at all: the check would be vacuous"
        assert all(key["declared"] for key in shared), [key for key in shared if not key["declared"]]

    # the same stored data and truth give the same report, byte for byte
    again = build_report(read_truth(truth_path(tmp_path)), {mesh.regime: mesh_stores(mesh)})
    assert again.to_json() == report.to_json()
