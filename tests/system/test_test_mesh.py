"""The tests' mesh (tests/fixtures/mesh.py) starts a service when it is first called, and only then:
callers find it seeded, a start is shared by concurrent callers, and the mesh stops what it started."""

from __future__ import annotations

import asyncio

import pytest

from kernel.state import ServiceState, state_of
from services.fines.dependencies import FinesState
from tests.fixtures.fines import DEMO_PLATE, fine_ids
from tests.fixtures.matrix import PLATFORM_ONLY, SQLITE_ONLY
from tests.fixtures.mesh import Mesh

pytestmark = [PLATFORM_ONLY, SQLITE_ONLY]


def serving(mesh: Mesh, service: str) -> bool:
    return state_of(mesh.apps[service], ServiceState).connections is not None


async def test_a_service_starts_when_first_called_and_its_callers_find_it_seeded(mesh):
    assert not any(serving(mesh, name) for name in mesh.apps)
    async with mesh.client("fines") as fines:
        answers = await asyncio.gather(*(fines.get("/healthz") for _ in range(5)))
    assert [answer.status_code for answer in answers] == [200] * 5  # seeded before any caller got in
    assert len(fine_ids(mesh, DEMO_PLATE)) == 2  # the demo fines
    # the traffic police's seed asked the identity service; nobody asked the civil affairs bureau
    assert serving(mesh, "fines") and serving(mesh, "identity")
    assert not serving(mesh, "appointments") and not serving(mesh, "prescriptions")


@pytest.mark.started("fines")
async def test_the_started_marker_starts_a_service_before_the_test(mesh):
    assert serving(mesh, "fines")
    assert len(fine_ids(mesh, DEMO_PLATE)) == 2


async def test_leaving_the_mesh_stops_what_it_started(regime, tmp_path):
    async with Mesh(regime, tmp_path, started=("fines",)) as running:
        worker = state_of(running.apps["fines"], FinesState).worker
        assert worker.running
        assert not serving(running, "gateway")
    assert not worker.running
    for name in ("fines", "identity"):  # stopped: their outgoing clients closed with their lifespans
        assert state_of(running.apps[name], ServiceState).http.is_closed


async def test_a_stopped_service_is_not_started_by_a_call(mesh):
    mesh.stop("appointments")
    async with mesh.client("appointments") as appointments:
        with pytest.raises(Exception, match="connection refused"):
            await appointments.get("/healthz")
    assert not serving(mesh, "appointments")
