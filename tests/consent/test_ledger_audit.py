"""``citygate ledger verify`` against a real consent service: an honest log passes; a changed byte, two
swapped entries or a rewritten history are caught and the first bad entry is named."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete

from consent.dependencies import ConsentState
from consent.models import LedgerEntry, LedgerHead, LedgerNode
from consent.receipts import canonical
from consent.verify import LedgerAuditor, read_json, run
from kernel.state import state_of
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.mesh import Mesh

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS]

ENTRIES = 77  # not a power of two: the right edge of the tree is ragged


def event(number: int) -> bytes:
    return canonical(
        {
            "v": 1,
            "kind": "access.permitted",
            "at": f"2026-11-23T10:00:{number % 60:02d}Z",
            "holder": "pod",
            "subject": f"pseudonym-{number % 7}",
            "recipient": "prescriptions",
            "category": "pd:Prescription",
            "purpose": "dpv:ServiceProvision",
            "artefact": None,
        }
    )


def fill(mesh: Mesh, entries: list[bytes]) -> None:
    with state_of(mesh.apps["consent"], ConsentState).consent_book.ledger.transaction() as tx:
        for entry in entries:
            tx.append_event(entry, citizen_key="someone", recipient="prescriptions")


def tamper(mesh: Mesh, change) -> None:
    with state_of(mesh.apps["consent"], ConsentState).database.session() as session:
        change(session)
        session.commit()


async def audit(mesh: Mesh, tree_head: dict | None = None):
    async with mesh.client("consent") as http:
        return await LedgerAuditor(http).verify(tree_head)


async def test_an_honest_log_verifies_and_the_command_says_so(mesh, capsys):
    fill(mesh, [event(n) for n in range(ENTRIES)])
    report = await audit(mesh)
    assert (report.ok, report.tree_size) == (True, ENTRIES)
    assert await run(mesh.urls["consent"], quiet=True, transport=mesh.transport) == 0
    assert f"OK: all {ENTRIES} entries match" in capsys.readouterr().out


@pytest.mark.parametrize("changed", [0, 64, ENTRIES - 1])
async def test_one_changed_byte_in_one_stored_entry_is_named(mesh, changed, capsys):
    fill(mesh, [event(n) for n in range(ENTRIES)])

    def flip_a_byte(session) -> None:
        row = session.get(LedgerEntry, changed)  # one character of the published commitment
        at = row.entry.index(b'"commitment":"') + len(b'"commitment":"')
        row.entry = row.entry[:at] + (b"A" if row.entry[at : at + 1] != b"A" else b"B") + row.entry[at + 1 :]

    tamper(mesh, flip_a_byte)
    report = await audit(mesh)
    assert (report.ok, report.first_bad_index) == (False, changed), report.message
    assert await run(mesh.urls["consent"], quiet=True, transport=mesh.transport) == 1
    assert f"FAILED: entry {changed} does not match" in capsys.readouterr().out


async def test_two_swapped_entries_are_caught_at_the_first_of_them(mesh):
    fill(mesh, [event(n) for n in range(ENTRIES)])

    def swap(session) -> None:
        first, second = session.get(LedgerEntry, 20), session.get(LedgerEntry, 50)
        first.entry, second.entry = second.entry, first.entry

    tamper(mesh, swap)
    report = await audit(mesh)
    assert (report.ok, report.first_bad_index) == (False, 20), report.message


async def test_a_rewritten_history_is_not_consistent_with_a_tree_head_saved_before(mesh, tmp_path, capsys):
    honest = [event(n) for n in range(ENTRIES)]
    fill(mesh, honest)
    async with mesh.client("consent") as http:
        saved = (await http.get("/ledger/tree-head")).json()
    (tmp_path / "head.json").write_text(json.dumps(saved))

    # The operator rewrites entry 30 and rebuilds the whole tree from scratch, then keeps logging.
    def wipe(session) -> None:
        for table in (LedgerEntry, LedgerNode, LedgerHead):
            session.exec(delete(table))

    tamper(mesh, wipe)
    rewritten = honest.copy()
    rewritten[30] = event(1000)
    fill(mesh, rewritten + [event(n) for n in range(ENTRIES, ENTRIES + 10)])

    assert (await audit(mesh)).ok  # on its own the rewritten log is self-consistent...
    against_saved = await audit(mesh, saved)  # ...but not with what it signed before
    assert not against_saved.ok and "rewritten" in against_saved.message
    async with mesh.client("consent") as http:
        auditor = LedgerAuditor(http)
        keys = await auditor.keys()
        from consent.tree_heads import verify_tree_head

        assert not await auditor.consistent(verify_tree_head(saved, keys), await auditor.current_head())
    assert (
        await run(
            mesh.urls["consent"], saved=read_json(str(tmp_path / "head.json")), quiet=True, transport=mesh.transport
        )
        == 1
    )


async def test_an_appended_log_extends_a_saved_tree_head(mesh, tmp_path, capsys):
    fill(mesh, [event(n) for n in range(10)])
    async with mesh.client("consent") as http:
        saved = (await http.get("/ledger/tree-head")).json()
    fill(mesh, [event(n) for n in range(10, 40)])
    (tmp_path / "head.json").write_text(json.dumps(saved))
    assert (
        await run(
            mesh.urls["consent"], saved=read_json(str(tmp_path / "head.json")), quiet=True, transport=mesh.transport
        )
        == 0
    )
    assert "the current tree (40 entries) extends the saved one" in capsys.readouterr().out


async def test_a_tree_head_signed_by_another_key_is_refused(mesh):
    fill(mesh, [event(n) for n in range(5)])
    async with mesh.client("consent") as http:
        head = (await http.get("/ledger/tree-head")).json()
    forged = head | {"tree_size": 4}
    report = await audit(mesh, forged)
    assert not report.ok and "not valid" in report.message
