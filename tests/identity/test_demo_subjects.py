"""``GET /demo/sector-subjects``: in a demo deployment, the consent ledger and the pod learn their own
subjects for the demo personas (for ``citygate reset``), and nobody else's; nobody else may ask."""

from __future__ import annotations

import pytest

from kernel.personas import PERSONAS
from kernel.regime import Regime
from tests.fixtures.mesh import Mesh
from tests.fixtures.operators import enrol
from tests.fixtures.pod_clients import own_pod
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import mint

pytestmark = pytest.mark.backends("sqlite")

PATH = "/demo/sector-subjects"


async def ask(mesh: Mesh, client: str):
    token = mint(mesh, client=client, scope="identity:demo-subjects", audience="urn:citygate:identity")
    async with mesh.client("identity") as identity:
        return await identity.get(PATH, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.regimes(Regime.RIGHTS)
async def test_the_pod_learns_its_own_subject_for_each_persona_and_for_nobody_else(mesh):
    await enrol(mesh, 7)  # a resident who is no persona
    answered = await ask(mesh, "pod")
    assert answered.status_code == 200, answered.text
    subjects = answered.json()["subjects"]
    assert set(subjects) == {persona.handle for persona in PERSONAS}
    _, root, _ = await own_pod(mesh, "wang-fang")
    assert root == f"/pods/{subjects['wang-fang']}/"  # the pod's own name for her pod
    consent = (await ask(mesh, "consent")).json()["subjects"]
    assert not set(consent.values()) & set(subjects.values())  # each sector its own pseudonyms


@pytest.mark.regimes(Regime.RIGHTS)
async def test_only_the_consent_ledger_and_the_pod_may_ask(mesh):
    for client in ("fines", "prescriptions", "gateway"):
        assert_problem(await ask(mesh, client), 403, "forbidden-caller")
    async with mesh.client("identity") as identity:
        assert_problem(await identity.get(PATH), 401, "unauthenticated")


async def test_without_demo_data_there_are_no_demo_subjects(tmp_path):
    async with Mesh(Regime.RIGHTS, tmp_path, demo=False) as mesh:
        assert_problem(await ask(mesh, "pod"), 404, "not-found")
