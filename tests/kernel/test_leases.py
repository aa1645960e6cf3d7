"""A background duty runs once per deployment, not once per replica (issue 17, scale-out): the replica
holding the duty's lease in Redis runs it (kernel/leases.py, kernel/periodic.py); another takes over when
it stops; a replica that cannot reach Redis runs nothing; one process per service needs no Redis."""

from __future__ import annotations

import asyncio

import pytest

from kernel.leases import OwnLease, SharedLease
from kernel.regime import Regime
from kernel.state import state_of
from services.fines.dependencies import FinesState
from tests.fixtures.replicas import Replica, replica
from tests.fixtures.shared_state import UNREACHABLE_REDIS_URL, require_redis

DUTY_NAMESPACE = "test/leases"


def passes(one: Replica) -> int:
    return state_of(one.app, FinesState).worker.passes


async def until(condition, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110  # a worker's pass count: no event to wait on
            await asyncio.sleep(0.02)


async def test_one_holder_at_a_time_and_the_next_after_a_release_or_a_lapse(request):
    url = require_redis()
    duty = request.node.name  # a key of its own per test run
    first, second = SharedLease(url, DUTY_NAMESPACE, duty), SharedLease(url, DUTY_NAMESPACE, duty)
    assert await first.hold(5) and await first.hold(5)  # taken, then renewed
    assert not await second.hold(5)
    await first.release()
    assert await second.hold(0.2)  # given back: the next one takes it at once
    third = SharedLease(url, DUTY_NAMESPACE, duty)
    assert not await third.hold(5)
    await asyncio.sleep(0.3)  # the holder died without giving it back: it lapses
    assert await third.hold(5)
    await second.release()  # no longer its own: it does not take the lease from the third
    assert not await SharedLease(url, DUTY_NAMESPACE, duty).hold(5)
    await third.release()


async def test_without_redis_nobody_holds_a_shared_lease_and_a_lone_process_always_does():
    cut_off = SharedLease(UNREACHABLE_REDIS_URL, DUTY_NAMESPACE, "unreachable")
    assert not await cut_off.hold(5)
    await cut_off.release()
    assert await OwnLease().hold(5)


@pytest.mark.regimes(Regime.PLATFORM)
@pytest.mark.backends("sqlite")
@pytest.mark.started("fines")
async def test_of_two_fines_replicas_one_sweeps_and_the_other_takes_over_when_it_stops(mesh):
    shared = require_redis()
    settings = {"shared_state_url": shared, "worker_interval_seconds": 0.05}
    # the mesh's own fines (no shared state) stands apart: it is not one of these replicas
    async with replica(mesh, "fines", **settings) as one:
        await until(lambda: passes(one) >= 3)
        async with replica(mesh, "fines", **settings) as other:
            await until(lambda: passes(one) >= 8)
            assert passes(other) == 0  # the lease is the first's, renewed at every pass
    async with replica(mesh, "fines", **settings) as successor:
        await until(lambda: passes(successor) >= 2)  # the first stopped and gave the lease back


@pytest.mark.regimes(Regime.PLATFORM)
@pytest.mark.backends("sqlite")
@pytest.mark.started("fines")
async def test_a_replica_cut_off_from_redis_leaves_the_duty_alone(mesh):
    async with replica(mesh, "fines", shared_state_url=UNREACHABLE_REDIS_URL, worker_interval_seconds=0.05) as cut:
        await asyncio.sleep(0.5)
        assert passes(cut) == 0
