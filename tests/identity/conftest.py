"""Fixtures of the identity tests: a whole mesh in one regime, on SQLite (the provider's tests that
need no parametrisation over regime or backend ask for these instead of ``mesh``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kernel.regime import Regime
from tests.fixtures.mesh import Mesh


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Mesh]:
    """The platform regime's services, in-process, each on its own SQLite file."""
    async with Mesh(Regime.PLATFORM, tmp_path) as running:
        yield running


@pytest.fixture
async def rights(tmp_path: Path) -> AsyncIterator[Mesh]:
    """The rights regime's services, in-process, each on its own SQLite file."""
    async with Mesh(Regime.RIGHTS, tmp_path) as running:
        yield running
