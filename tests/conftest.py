from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from kernel import topology
from kernel.regime import Regime
from tests.fixtures.databases import postgres_databases, require_postgres
from tests.fixtures.mesh import Mesh

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgresql":
        require_postgres()
    return request.param


@pytest.fixture(params=list(Regime), ids=[r.value for r in Regime])
def regime(request) -> Regime:
    return request.param


@pytest.fixture
def database_urls(backend: str, regime: Regime) -> Iterator[dict[str, str] | None]:
    """None means each service's default: a SQLite file in its data directory."""
    if backend == "sqlite":
        yield None
        return
    with postgres_databases(*(spec.name for spec in topology.services_in(regime))) as urls:
        yield urls


@pytest.fixture
async def mesh(regime: Regime, database_urls, tmp_path) -> AsyncIterator[Mesh]:
    async with Mesh(regime, tmp_path, database_urls) as running:
        yield running


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Under `pytest -n` (make test), the tests that start real processes run one after another on
    # one worker: each starts many services, and two such tests at once on two cores would be
    # measuring each other's start-up, not the code.
    for item in items:
        if item.get_closest_marker("processes"):
            item.add_marker(pytest.mark.xdist_group("processes"))
