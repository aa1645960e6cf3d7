"""A small population through the real services of each regime, in process (the mesh), on SQLite and
PostgreSQL: every fact enters through its owner's API, every journey through the gateway, the ground
truth is written, and running it again duplicates nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlmodel import col, func, select

from identity.models import Citizen
from kernel.regime import Regime
from services.fines.models import Fine, Vehicle
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.population import deployment_of
from workshop.population.people import generate
from workshop.population.populate import PopulationError, populate
from workshop.population.truth import read_truth, truth_path

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]

TODAY = date(2026, 12, 1)
SEED = 7
CITIZENS = 20


def _count(mesh, service: str, model, *where) -> int:
    with mesh.apps[service].state.service.database.session() as session:
        return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


async def test_a_population_goes_through_the_journeys_and_the_truth_says_what_happened(mesh, tmp_path):
    data_root = tmp_path / "truth-root"
    run = await populate([deployment_of(mesh)], citizens=CITIZENS, seed=SEED, today=TODAY, data_root=data_root)
    residents = generate(CITIZENS, seed=SEED, today=TODAY)

    assert run.intake[mesh.regime.value].failures == []
    # every resident enrolled at identity, through its registration office (read back from its table)
    handles = [resident.handle for resident in residents]
    assert _count(mesh, "identity", Citizen, col(Citizen.handle).in_(handles)) == CITIZENS
    # every car and fine at the traffic police
    plates = [resident.plate for resident in residents if resident.plate]
    assert _count(mesh, "fines", Vehicle, col(Vehicle.plate).in_(plates)) == len(plates)

    truth = read_truth(truth_path(data_root))
    assert truth.seed == SEED and truth.today == TODAY
    assert {resident.handle for resident in truth.residents} >= set(handles)
    assert _count(mesh, "fines", Fine, col(Fine.plate).in_(plates)) == len(truth.facts.fines)
    [regime_run] = run.runs
    assert len(regime_run.records) == len(truth.journeys) > 0
    outcomes = Counter(record.outcome for record in truth.journeys)
    assert outcomes["failed"] == 0, [record.detail for record in truth.journeys if record.outcome == "failed"]
    assert {record.journey for record in truth.journeys} >= {"fines", "prescriptions"}
    assert all(record.regime is mesh.regime for record in truth.journeys)

    # again, the same seed: nothing enrolled, recorded or journeyed twice
    again = await populate([deployment_of(mesh)], citizens=CITIZENS, seed=SEED, today=TODAY, data_root=data_root)
    assert again.runs[0].records == []
    assert _count(mesh, "identity", Citizen, col(Citizen.handle).in_(handles)) == CITIZENS
    assert _count(mesh, "fines", Fine, col(Fine.plate).in_(plates)) == len(truth.facts.fines)
    assert read_truth(truth_path(data_root)).journeys == truth.journeys


@pytest.mark.regimes(Regime.PLATFORM)
async def test_another_seed_on_the_same_data_is_refused(mesh, tmp_path):
    await populate([deployment_of(mesh)], citizens=2, seed=1, today=TODAY, data_root=tmp_path / "root")
    with pytest.raises(PopulationError, match="seed 1, not 2"):
        await populate([deployment_of(mesh)], citizens=2, seed=2, today=TODAY, data_root=tmp_path / "root")


@pytest.mark.regimes(Regime.RIGHTS)
async def test_a_stopped_department_fails_its_journeys_and_the_rest_go_on(mesh, tmp_path):
    mesh.stop("prescriptions")
    run = await populate([deployment_of(mesh)], citizens=CITIZENS, seed=SEED, today=TODAY, data_root=tmp_path / "r")
    by_journey = Counter((record.journey, record.outcome) for record in run.runs[0].records)
    assert by_journey[("prescriptions", "failed")] > 0
    assert by_journey[("prescriptions", "succeeded")] == 0
    assert by_journey[("fines", "succeeded")] > 0
    truth = read_truth(truth_path(tmp_path / "r"))
    failed = [record for record in truth.journeys if record.outcome == "failed"]
    assert failed and all(record.detail for record in failed)
