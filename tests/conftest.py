"""The fixtures every directory shares, and the hooks that read the tests' markers.

Regimes and backends are chosen at the test, never silently: a test that uses ``mesh`` (or
``database_urls``, ``regime``, ``backend``) says which with the ``regimes`` and ``backends`` markers
(tests/fixtures/matrix.py: ``BOTH_REGIMES``, ``RIGHTS_ONLY``, ``BOTH_BACKENDS`` ...), usually once per
module in ``pytestmark``. ``pytest_generate_tests`` below turns several values into parameters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kernel import topology
from kernel.regime import Regime
from tests.fixtures.databases import migrated_postgres_databases, require_postgres
from tests.fixtures.deployment import Deployment, running_deployment
from tests.fixtures.mesh import Mesh

# fixture -> the marker that says its values
MATRIX = {"regime": "regimes", "backend": "backends"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # In the order the test's fixtures are resolved (which is the order of the parts of its id).
    for argname in metafunc.fixturenames:
        marker_name = MATRIX.get(argname)
        if marker_name is None or _parametrizes_itself(metafunc, argname):
            continue
        marker = metafunc.definition.get_closest_marker(marker_name)
        if marker is None or not marker.args:
            pytest.fail(
                f"{metafunc.definition.nodeid} uses the {argname!r} fixture but does not say which: mark it "
                f"(or its module's pytestmark) with @pytest.mark.{marker_name}(...), see tests/fixtures/matrix.py",
                pytrace=False,
            )
        if len(marker.args) > 1:
            metafunc.parametrize(argname, marker.args, indirect=True, ids=[str(value) for value in marker.args])


def _parametrizes_itself(metafunc: pytest.Metafunc, argname: str) -> bool:
    """``@pytest.mark.parametrize("regime", ...)`` on the test wins over the markers."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs["argnames"]
        if argname in ([name.strip() for name in names.split(",")] if isinstance(names, str) else names):
            return True
    return False


def _chosen(request: pytest.FixtureRequest, marker_name: str):
    """The parameter when the markers named several values, else the one value the marker names."""
    if hasattr(request, "param"):
        return request.param
    marker = request.node.get_closest_marker(marker_name)
    assert marker is not None and len(marker.args) == 1, "pytest_generate_tests checked this"
    return marker.args[0]


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``, as the test's ``backends`` marker says."""
    chosen: str = _chosen(request, "backends")
    if chosen == "postgresql":
        require_postgres()
    return chosen


@pytest.fixture
def regime(request: pytest.FixtureRequest) -> Regime:
    """The regime, as the test's ``regimes`` marker (or its own parametrize) says."""
    return Regime(_chosen(request, "regimes"))


@pytest.fixture
def database_urls(backend: str, regime: Regime) -> Iterator[dict[str, str] | None]:
    """None means each service's default: a SQLite file in its data directory."""
    if backend == "sqlite":
        yield None
        return
    with migrated_postgres_databases(*(spec.name for spec in topology.services_in(regime))) as urls:
        yield urls


@pytest.fixture
async def mesh(
    request: pytest.FixtureRequest, regime: Regime, database_urls: dict[str, str] | None, tmp_path: Path
) -> AsyncIterator[Mesh]:
    """Every service of ``regime`` in this process, on ``backend``'s databases (tests/fixtures/mesh.py).

    Each starts when first called; the ``started`` marker names those to start before the test,
    for a test that reads a service's state (its database, its workers) before calling it."""
    marker = request.node.get_closest_marker("started")
    async with Mesh(regime, tmp_path, database_urls, started=marker.args if marker else ()) as running:
        yield running


@pytest.fixture(scope="session")
def _shared_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_deployment(tmp_path_factory.mktemp("deployment")) as running:
        yield running


@pytest.fixture
async def deployment(_shared_deployment: Deployment) -> Deployment:
    """``citygate up`` on real processes, shared by the tests that use it (tests/fixtures/deployment.py),
    the demo personas' state reset before each."""
    await _shared_deployment.reset()
    return _shared_deployment


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Under `pytest -n` (make test), the tests that start real processes run one after another on
    # one worker: each starts many services, and two such tests at once on two cores would be
    # measuring each other's start-up, not the code. The shared deployment is one of them.
    for item in items:
        if item.get_closest_marker("processes") or "deployment" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.processes)
            item.add_marker(pytest.mark.xdist_group("processes"))
    # The longest single tests first: xdist hands out the processes group (its largest unit) and then
    # the rest in this order, so the fuzz slice (a minute or more each) starts on the other worker at
    # once instead of coming last and leaving one worker idle while the other finishes it.
    items.sort(key=lambda item: item.get_closest_marker("fuzz") is None)
