"""The public ledger cannot be joined across sectors: its leaves are commitments (consent.commitments).

After a prescription is deposited in the patient's pod (a basis recorded under the hospital's
pseudonym, a deposit decided under the pod's, a consent request naming the prescription), an
anonymous reader of ``/ledger/…`` finds no pseudonym, WebID, resource URL or prescription id — nor
even which kind of event or which department — yet audits the whole log from public data, and the
citizen verifies her own entries (clear, with their openings) against the signed tree head."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc.jwk import KeySet
from sqlmodel import select

from consent.commitments import opens, public_leaf
from consent.dependencies import ConsentState
from consent.models import ConsentArtefact, LedgerEntry
from consent.tree_heads import verify_tree_head
from consent.verify import LedgerAuditor, own_entry_is_logged
from kernel.state import ServiceState, state_of
from pod.paths import pod_of
from services.prescriptions.demo import PATIENT, demo_draft
from tests.fixtures.logins import consent_app
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.pod_clients import own_pod
from tests.fixtures.tokens import mint

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS, pytest.mark.started("consent", "prescriptions")]


async def deposit_a_prescription(mesh: Mesh) -> dict[str, str]:
    """The rights-regime issue: every identifier it puts into play, by what it is."""
    owner, root, webid = await own_pod(mesh, PATIENT.handle)
    await owner.aclose()
    storage = mesh.urls["pod"] + root
    patient = await state_of(mesh.apps["prescriptions"], ServiceState).services.sector_subject(PATIENT.resident_id)
    async with mesh.client("prescriptions") as rx:
        issued = await rx.post(
            "/prescriptions",
            json=demo_draft(patient).model_dump() | {"pod": storage},
            headers={"Authorization": f"Bearer {mint(mesh, scope='prescriptions:issue')}"},
        )
    assert issued.status_code == 201, issued.text
    rx_id = issued.json()["id"]
    resource = f"{storage}prescriptions/{rx_id}"
    with state_of(mesh.apps["consent"], ConsentState).database.session() as session:
        [consent_key] = set(session.exec(select(ConsentArtefact.citizen_key)).all())
    return {
        "consent service's own key": consent_key,
        "health pseudonym": patient,
        "pod pseudonym": pod_of(root),
        "webid": webid,
        "pod root": storage,
        "resource URL": resource,
        "resource path": f"{root}prescriptions/{rx_id}",
        "prescription id": rx_id,
        "resident id": PATIENT.resident_id,
    }


async def test_an_anonymous_reader_learns_nothing_yet_audits_all_and_she_verifies_her_own(mesh):
    known = await deposit_a_prescription(mesh)
    clear_events = [
        json.loads(row.clear or b"")
        for row in state_of(mesh.apps["consent"], ConsentState).consent_book.ledger.entries(0, 3)
    ]
    assert [event["kind"] for event in clear_events] == ["basis.recorded", "access.permitted", "consent.requested"]
    assert clear_events[1]["resource"] == known["resource URL"]  # the identifiers really were logged...

    async with mesh.client("consent") as anonymous:  # ...but the public sees none of them
        head = (await anonymous.get("/ledger/tree-head")).json()
        answers = [
            await anonymous.get("/ledger/entries", params={"start": 0, "end": head["tree_size"]}),
            await anonymous.get("/ledger/inclusion-proof", params={"leaf_index": 1, "tree_size": 3}),
            await anonymous.get("/ledger/roots/2"),
        ]
        report = await LedgerAuditor(anonymous).verify()
    assert head["tree_size"] == 3 and all(answer.status_code == 200 for answer in answers)
    leaves = [base64.b64decode(row["entry"]) for row in answers[0].json()["entries"]]
    published = "".join(answer.text for answer in answers) + json.dumps(head) + b"".join(leaves).decode()
    for what, value in known.items():
        assert value not in published, f"the public ledger shows the {what}"
    # not even what happened, or to which department: each leaf is a version and a commitment
    assert all(set(json.loads(leaf)) == {"v", "commitment"} for leaf in leaves)
    assert len({len(leaf) for leaf in leaves}) == 1  # nor its size
    for word in ("access", "basis", "consent", "prescriptions", "pod", "dpv:", "pd:"):
        assert word not in b"".join(leaves).decode()
    assert report.ok and report.tree_size == 3, report.message  # the whole log audits from public data

    async with mesh.client("consent") as consent:  # she alone sees her entries in clear, and checks each
        citizen = await consent_app(mesh)
        log = (await consent.get("/me/access-log", headers=citizen)).json()
        jwks = (await consent.get("/.well-known/jwks.json")).json()
    signed = verify_tree_head(log["tree_head"], KeySet.import_key_set(jwks))
    assert [e["entry"]["kind"] for e in log["entries"]] == ["consent.requested", "access.permitted", "basis.recorded"]
    assert all(own_entry_is_logged(entry, signed) for entry in log["entries"])
    deposit = log["entries"][1]
    assert deposit["entry"]["resource"] == known["resource URL"] and deposit["entry"]["processing"] == "dpv:Store"
    assert base64.b64decode(deposit["leaf"]) == leaves[deposit["index"]]  # the very leaf the public audits


async def test_the_citizen_catches_a_changed_entry_and_a_borrowed_opening(mesh):
    await deposit_a_prescription(mesh)
    async with mesh.client("consent") as consent:
        citizen = await consent_app(mesh)
        jwks = (await consent.get("/.well-known/jwks.json")).json()
        honest = (await consent.get("/me/access-log", headers=citizen)).json()
        head = verify_tree_head(honest["tree_head"], KeySet.import_key_set(jwks))
        first, second = honest["entries"][0], honest["entries"][1]
        # a salt or clear entry moved from another line does not open this line's commitment
        assert not own_entry_is_logged(first | {"salt": second["salt"]}, head)
        assert not own_entry_is_logged(first | {"clear": second["clear"], "entry": second["entry"]}, head)
        assert not own_entry_is_logged(first | {"entry": first["entry"] | {"recipient": "nobody"}}, head)

        # the operator rewrites what her log says the pharmacy did (the private clear entry) ...
        with state_of(mesh.apps["consent"], ConsentState).database.session() as session:
            row = session.get(LedgerEntry, 1)
            assert row is not None and row.clear is not None
            row.clear = row.clear.replace(b"dpv:Store", b"dpv:Use")
            session.commit()
        rewritten = (await consent.get("/me/access-log", headers=citizen)).json()
        # ... her app sees it does not open the published commitment
        changed = next(entry for entry in rewritten["entries"] if entry["index"] == 1)
        assert changed["entry"]["processing"] == "dpv:Use" and not own_entry_is_logged(changed, head)


def test_a_commitment_hides_even_identical_events_and_binds_its_opening():
    event, salt = b'{"kind":"access.permitted","subject":"x"}', bytes(range(32))
    other_salt = bytes(32)
    assert public_leaf(salt, event) != public_leaf(other_salt, event)  # equal events do not look equal
    assert opens(public_leaf(salt, event), event, salt)
    assert not opens(public_leaf(salt, event), event + b" ", salt)
    assert not opens(public_leaf(salt, event), event, salt[:16])  # a salt of another length is refused
    with pytest.raises(ValueError, match="a salt is"):
        public_leaf(b"short", event)
