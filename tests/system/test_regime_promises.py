"""The regimes' promises, checked on what the services actually stored (every text column of every
table, ``workshop.exposure``), not on code paths."""

from __future__ import annotations

import pytest

from kernel.personas import by_handle
from kernel.regime import Regime
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from workshop.exposure import occurrences, shared_identifiers, stored_text

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("all")]

# Chen Jun has a record at two departments from the demo data alone: an overdue parking fine
# (traffic police) and his marriage (civil affairs bureau).
CITIZEN = by_handle("chen-jun")
DEPARTMENTS = ("fines", "appointments", "prescriptions", "credit")
IDENTIFYING = ("fines", "appointments", "prescriptions")  # those that learn a subject from the identity service


async def test_whether_two_departments_can_join_their_records_of_one_citizen(mesh):
    departments = [name for name in DEPARTMENTS if name in mesh.apps]
    subjects = {
        name: await mesh.apps[name].state.service.services.sector_subject(CITIZEN.resident_id) for name in IDENTIFYING
    }
    his_identifiers = set(subjects.values()) | {CITIZEN.resident_id}
    dumps = {name: stored_text(mesh.apps[name].state.service.database.engine) for name in departments}
    holders = {hit.service for hit in occurrences(dumps, his_identifiers)}
    assert {"fines", "appointments"} <= holders  # both keep a record of him: the check is not vacuous

    joinable = {
        pair: shared & his_identifiers for pair, shared in shared_identifiers(dumps).items() if shared & his_identifiers
    }
    if mesh.regime is Regime.PLATFORM:
        # one universal identifier: every department keys him by his resident ID
        assert joinable[("appointments", "fines")] == {CITIZEN.resident_id}
        assert all(subject == CITIZEN.resident_id for subject in subjects.values())
    else:
        # a pseudonym per sector: no department stores another's, nor the resident ID
        assert joinable == {}
        assert len(set(subjects.values())) == len(subjects)
        assert occurrences(dumps, [CITIZEN.resident_id]) == []
        for name, rows in dumps.items():
            others = his_identifiers - {subjects.get(name)}
            assert occurrences({name: rows}, others) == [], name
