"""Costs flat with data (issue 17): what a journey's requests and a service's background passes ask of
their databases is answered by an index, never by reading a whole table, so what each costs does not
grow with every row the city ever stored. Read from SQLite's own plans of the statements really run
(tests/fixtures/query_plans.py), not from timings; docs/benchmarks.md §9 has the measured paths."""

from __future__ import annotations

from contextlib import aclosing

import pytest

from kernel.regime import Regime
from kernel.state import ServiceState, state_of
from services.fines.dependencies import FinesState
from superapp_gateway.dependencies import GatewayState
from tests.fixtures.demo_journeys import walk
from tests.fixtures.logins import super_app
from tests.fixtures.query_plans import full_reads, recorded_statements
from tests.fixtures.wallet import pay
from workshop.journeys import JOURNEYS

pytestmark = [pytest.mark.backends("sqlite"), pytest.mark.regimes(Regime.PLATFORM)]


async def engines_of(mesh, *services: str) -> dict:
    return {service: state_of(await mesh.running(service), ServiceState).database.engine for service in services}


def whole_table_reads(engines: dict, statements: list) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for statement in statements:
        if steps := full_reads(engines[statement.service], statement):
            sql = " ".join(statement.sql.split())
            found[f"{statement.service}: {sql[sql.find(' FROM ') :][:300]}"] = steps  # what it reads, and how
    return found


async def test_the_platform_fines_journey_reads_by_index_only(mesh):
    async with aclosing(await super_app(mesh)) as browser:
        engines = await engines_of(mesh, "gateway", "fines")
        with recorded_statements(engines) as statements:
            fines = (await browser.get("/city-services/fines")).json()
            unpaid = next(fine for fine in fines if fine["status"] == "unpaid")
            assert (await pay(browser, unpaid, "flat-1")).status_code == 201
            for path in (f"/city-services/fines/{unpaid['id']}/receipt", "/wallet", "/me/history?limit=5"):
                assert (await browser.get(path)).status_code == 200, path
    assert len({statement.service for statement in statements}) == 2  # both really asked
    assert whole_table_reads(engines, statements) == {}


async def test_the_background_passes_read_only_what_they_act_on(mesh):
    """The fines sweep (and, on the platform, the report to the credit platform) and the wallet's retrier."""
    fines, gateway = await mesh.running("fines"), await mesh.running("gateway")
    engines = await engines_of(mesh, "fines", "gateway")
    with recorded_statements(engines) as statements:
        await state_of(fines, FinesState).worker.run_once()
        retrier = state_of(gateway, GatewayState).wallet_retrier
        assert retrier is not None
        await retrier.run_once()
    assert {statement.service for statement in statements} == {"fines", "gateway"}  # both passes asked
    assert whole_table_reads(engines, statements) == {}


@pytest.mark.regimes(Regime.PLATFORM, Regime.RIGHTS)
@pytest.mark.started("all")
async def test_every_journey_of_the_walkthrough_reads_by_index_only(mesh):
    engines = await engines_of(mesh, *mesh.apps)
    with recorded_statements(engines) as statements:
        for journey in JOURNEYS:
            succeeded, told = await walk(mesh, journey)
            assert succeeded, told
    assert {statement.service for statement in statements} >= {"gateway", "identity", "fines", "appointments"}
    assert whole_table_reads(engines, statements) == {}
