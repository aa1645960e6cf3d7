"""The public ledger API answers as docs/consent.md says: a size or index the log has not reached is
400 ``beyond-tree-size``, an empty or reversed range 400 ``invalid-range``, and every integer is
bounded (negative or past 2^53-1: 422) — never a 200 for entries that do not exist, never a 500."""

from __future__ import annotations

import pytest

from consent.dependencies import ConsentState
from consent.ledger_routes import MAX_POSITION
from kernel.state import state_of
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.problems import assert_problem

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS]

SIZE = 5


def fill(mesh, count: int) -> None:
    with state_of(mesh.apps["consent"], ConsentState).consent_book.ledger.transaction() as tx:
        for n in range(count):
            tx.append(f'{{"n":{n}}}'.encode())


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (f"/ledger/entries?start=0&end={SIZE + 1}", "beyond-tree-size"),
        (f"/ledger/entries?start={SIZE}&end={SIZE + 10}", "beyond-tree-size"),
        (f"/ledger/entries?start=0&end={MAX_POSITION}", "beyond-tree-size"),
        ("/ledger/entries?start=3&end=3", "invalid-range"),
        ("/ledger/entries?start=3&end=2", "invalid-range"),
        ("/ledger/consistency-proof?first=0&second=3", "invalid-range"),
        ("/ledger/consistency-proof?first=4&second=3", "invalid-range"),
        (f"/ledger/consistency-proof?first=1&second={SIZE + 1}", "beyond-tree-size"),
        (f"/ledger/inclusion-proof?leaf_index={SIZE}&tree_size={SIZE}", "beyond-tree-size"),
        ("/ledger/inclusion-proof?leaf_index=0&tree_size=0", "beyond-tree-size"),
        (f"/ledger/inclusion-proof?leaf_index=0&tree_size={SIZE + 1}", "beyond-tree-size"),
        (f"/ledger/roots/{SIZE + 1}", "beyond-tree-size"),
    ],
)
async def test_what_the_log_has_not_reached_and_empty_ranges_are_400(mesh, path, kind):
    fill(mesh, SIZE)
    async with mesh.client("consent") as consent:
        assert_problem(await consent.get(path), 400, kind)


@pytest.mark.parametrize(
    "path",
    [
        "/ledger/entries?start=-1&end=2",
        f"/ledger/entries?start=0&end={2**63}",
        f"/ledger/entries?start={2**64}&end={2**64 + 1}",
        f"/ledger/inclusion-proof?leaf_index={2**63}&tree_size=3",
        "/ledger/inclusion-proof?leaf_index=-1&tree_size=3",
        f"/ledger/consistency-proof?first=1&second={2**64}",
        "/ledger/roots/-1",
        f"/ledger/roots/{2**64}",
    ],
)
async def test_integers_out_of_bounds_are_422_never_500(mesh, path):
    fill(mesh, SIZE)
    async with mesh.client("consent") as consent:
        assert_problem(await consent.get(path), 422)


async def test_what_is_within_the_tree_is_served(mesh):
    fill(mesh, SIZE)
    async with mesh.client("consent") as consent:
        page = (await consent.get(f"/ledger/entries?start=2&end={SIZE}")).json()["entries"]
        assert [row["index"] for row in page] == [2, 3, 4]
        assert (await consent.get(f"/ledger/consistency-proof?first={SIZE}&second={SIZE}")).status_code == 200
        assert (await consent.get("/ledger/roots/0")).status_code == 200  # the empty tree has a root too
