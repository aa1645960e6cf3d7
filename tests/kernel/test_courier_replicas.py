"""Replicas of a department relay a sealed request once between them (issue 17, scale-out): their replay
memory is shared in Redis (``shared_state_url``), and a replica that cannot reach it refuses to relay."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.courier import open_response, seal_request
from kernel.regime import Regime
from services.fines.demo import CAR_OWNER
from tests.fixtures.courier import published_jwks, relay_to
from tests.fixtures.logins import app_tokens
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.replicas import replica
from tests.fixtures.shared_state import UNREACHABLE_REDIS_URL, require_redis

pytestmark = [pytest.mark.regimes(Regime.RIGHTS), pytest.mark.backends("sqlite"), pytest.mark.started("fines")]


async def sealed_fines_request(mesh: Mesh) -> tuple[str, Any]:
    token = (await app_tokens(mesh, CAR_OWNER, "fines"))["fines"]
    return seal_request(await published_jwks(mesh, "fines"), method="GET", path="/me/fines", body=None, token=token)


async def test_an_envelope_relayed_by_one_replica_is_refused_by_the_other(mesh):
    shared = require_redis()
    envelope, reply_key = await sealed_fines_request(mesh)
    async with (
        replica(mesh, "fines", shared_state_url=shared) as one,
        replica(mesh, "fines", shared_state_url=shared) as other,
    ):
        first = await relay_to(one.client, mesh, "fines", envelope)
        assert first.status_code == 200, first.text
        assert open_response(first.json()["envelope"], reply_key).status == 200
        assert_problem(await relay_to(other.client, mesh, "fines", envelope), 409, "envelope-replayed")
        assert_problem(await relay_to(one.client, mesh, "fines", envelope), 409, "envelope-replayed")

        fresh, fresh_key = await sealed_fines_request(mesh)  # sealed anew: either replica relays it once
        again = await relay_to(other.client, mesh, "fines", fresh)
        assert open_response(again.json()["envelope"], fresh_key).status == 200


async def test_a_replica_that_cannot_reach_the_shared_memory_relays_nothing(mesh):
    envelope, _reply_key = await sealed_fines_request(mesh)
    async with replica(mesh, "fines", shared_state_url=UNREACHABLE_REDIS_URL) as cut_off:
        refused = await relay_to(cut_off.client, mesh, "fines", envelope)
        assert_problem(refused, 503, "replay-memory-unavailable")
        assert_problem(await relay_to(cut_off.client, mesh, "fines", envelope), 503, "replay-memory-unavailable")
    # refused, not remembered: the envelope is still good for a replica that can tell (the mesh's own)
    async with mesh.client("fines") as fines:
        assert (await relay_to(fines, mesh, "fines", envelope)).status_code == 200


async def test_without_shared_state_each_process_remembers_only_its_own(mesh):
    """What ``citygate up`` runs (one process per service): memory in the process, no Redis needed."""
    envelope, _reply_key = await sealed_fines_request(mesh)
    async with replica(mesh, "fines") as alone:
        assert (await relay_to(alone.client, mesh, "fines", envelope)).status_code == 200
        assert_problem(await relay_to(alone.client, mesh, "fines", envelope), 409, "envelope-replayed")
