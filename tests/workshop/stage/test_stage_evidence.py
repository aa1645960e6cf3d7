"""Who learned what beside each phone: read from what the services really stored, one persona's cells,
the step's changes marked, and the whole population's matrix on request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel.regime import Regime
from tests.fixtures.demo_journeys import pay_a_fine
from tests.fixtures.matrix import BOTH_REGIMES, SQLITE_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.report_truth import demo_truth
from tests.fixtures.stage import held, panel_items, stage_client

pytestmark = [BOTH_REGIMES, SQLITE_ONLY, pytest.mark.started("all")]


async def test_paying_a_fine_shows_who_learned_what_of_the_payer_and_marks_it(mesh: Mesh, tmp_path: Path) -> None:
    regime = mesh.regime.value
    async with stage_client(tmp_path) as client:
        before = panel_items((await client.get(f"/exposure/{regime}", params={"persona": "li-wei"})).text)
        assert held(before, "identity")["resident_id"] == "clear"  # enrolled: the provider knows who she is
        assert held(before, "gateway") == {}  # nobody has used the super-app yet
        assert not any(item.changed for item in before)  # a first look has nothing to compare with

        await pay_a_fine(mesh)
        after = panel_items((await client.get(f"/exposure/{regime}", params={"persona": "li-wei"})).text)
        other = panel_items((await client.get(f"/exposure/{regime}", params={"persona": "wang-fang"})).text)

    changed = {(item.party, item.attribute) for item in after if item.changed}
    assert {("gateway", "payments"), ("fines", "payments")} <= changed
    assert ("identity", "resident_id") not in changed  # known before the step
    gateway = held(after, "gateway")
    if mesh.regime is Regime.PLATFORM:
        # the super-app learns who paid, by resident ID, and for what
        assert gateway["resident_id"] == gateway["payments"] == gateway["offences"] == "clear"
    else:
        # the gateway relays and keeps the wallet's payment under a pseudonym: never the resident ID
        assert gateway["payments"] == "pseudonymised"
        assert not {"resident_id", "phone", "offences", "plate"} & gateway.keys()
    assert "payments" not in held(other, "gateway")  # another persona's panel: not Li Wei's payment


async def test_after_this_step_the_next_change_starts_a_new_step(mesh: Mesh, tmp_path: Path) -> None:
    regime = mesh.regime.value
    async with stage_client(tmp_path) as client:
        await client.get(f"/exposure/{regime}", params={"persona": "li-wei"})
        await pay_a_fine(mesh)
        step = await client.get("/step", params={"persona": "li-wei"})
        assert step.status_code == 200 and step.headers["hx-trigger"] == "step-ended"
        # the panels refreshed by the step's end still show the step's changes
        shown = panel_items((await client.get(f"/exposure/{regime}", params={"persona": "li-wei"})).text)
        assert ("gateway", "payments") in {(item.party, item.attribute) for item in shown if item.changed}


async def test_the_whole_population_matrix_counts_every_resident(mesh: Mesh, tmp_path: Path) -> None:
    regime = mesh.regime.value
    async with stage_client(tmp_path) as client:
        personas = await client.get(f"/exposure/{regime}", params={"persona": "li-wei", "view": "population"})
        truth = tmp_path / "population" / "truth.json"
        truth.parent.mkdir()
        truth.write_text(json.dumps(demo_truth()), encoding="utf-8")
        population = await client.get(f"/exposure/{regime}", params={"persona": "li-wei", "view": "population"})
    assert "5 residents (the demo personas: no population yet)" in personas.text
    assert "5 residents;" in population.text  # the population's truth, once populate wrote one
    # the identity provider enrolled all five, by resident ID, in either regime
    assert '<th scope="row">resident ID</th><td class="state-absent"></td><td class="state-clear">5</td>' in (
        population.text
    )
