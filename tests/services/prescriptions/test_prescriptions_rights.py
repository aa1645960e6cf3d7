"""The hospital and pharmacy in the rights regime, on SQLite and PostgreSQL: a prescription's contents
are deposited in the patient's personal data pod (under the hospital's legal basis, logged), the
department keeps only the process record, and the pharmacy reads the contents from the pod only under
the patient's consent — every deposit, read and refusal in the transparency ledger."""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import aclosing

import jwt  # PyJWT: verifies the hospital's signature independently of the library it signs with
import pytest
import rfc8785
import sqlalchemy
from rdflib import Graph
from sqlmodel import select

from identity.totp import totp
from kernel.consent_headers import ARTEFACT_HEADER, PURPOSE_HEADER
from kernel.personas import DEMO_PASSWORD
from kernel.state import state_of
from services.prescriptions.demo import PATIENT
from services.prescriptions.dependencies import PrescriptionsState
from services.prescriptions.models import (
    ContentsLocation,
    Payment,
    Prescription,
    PrescriptionContent,
    PrescriptionsTable,
)
from services.prescriptions.pod_document import RX, from_turtle
from services.prescriptions.pod_store import PodStore
from tests.fixtures.logins import consent_app
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.pod_clients import own_pod
from tests.fixtures.prescriptions import (
    READ,
    app_db,
    auth,
    count,
    deliver,
    dispense,
    give_the_pending_consent,
    issue_over_http,
    pay,
)
from tests.fixtures.problems import assert_problem
from tests.fixtures.stored import ledger_entries
from tests.fixtures.tokens import mint
from workshop.citizen_app import citizen_token

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS, pytest.mark.started("prescriptions")]

HEALTH_DATA = ("Metformin", "E11.9", "500 mg twice daily", "Dr. Huang Lei")


def department_dump(mesh) -> str:
    """Every value in every table of the department's database, as text (every column of every row)."""
    with app_db(mesh).session() as session:
        rows = session.connection().execute
        return repr([rows(sqlalchemy.select(table)).all() for table in PrescriptionsTable.metadata.sorted_tables])


async def test_issued_into_the_pod_dispensed_only_under_consent_and_every_step_is_logged(mesh):
    assert isinstance(state_of(mesh.apps["prescriptions"], PrescriptionsState).policy.store, PodStore)
    assert all(count(mesh, table) == 0 for table in PrescriptionsTable.metadata.sorted_tables)  # nothing seeded
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    storage = mesh.urls["pod"] + root
    patient, issued = await issue_over_http(mesh, storage)
    assert issued.status_code == 201, issued.text
    rx_id = issued.json()["id"]
    assert issued.json()["medication"].startswith("Metformin")  # the doctor sees what they prescribed

    # The department keeps the process record and a reference; the contents are in the pod only.
    with app_db(mesh).session() as session:
        record = session.get(Prescription, rx_id)
        assert record.contents_in == ContentsLocation.POD and record.pod_ref == f"{storage}prescriptions/{rx_id}"
        assert session.exec(select(PrescriptionContent)).all() == []
    assert not [word for word in HEALTH_DATA if word in department_dump(mesh)]
    async with aclosing(owner):
        document = await owner.get(f"{root}prescriptions/{rx_id}", headers={"Accept": "text/turtle"})
    assert document.status_code == 200
    graph = Graph().parse(data=document.text, format="turtle", publicID=record.pod_ref)
    assert (None, RX.diagnosis, None) in graph
    contents = from_turtle(document.content, record.pod_ref)
    assert (contents.diagnosis_code, contents.quantity) == ("E11.9", 60)

    entries = await ledger_entries(mesh)
    kinds = [entry["kind"] for entry in entries]
    assert kinds == ["basis.recorded", "access.permitted", "consent.requested"]
    deposit = entries[1]
    assert (deposit["recipient"], deposit["processing"], deposit["purpose"], deposit["category"]) == (
        "prescriptions",
        "dpv:Store",
        "dpv:LegalCompliance",
        "pd:Prescription",
    )

    async with mesh.client("prescriptions") as rx, mesh.client("consent") as consent:
        # Until the patient consents, the pharmacy cannot read it (and the refusal is logged).
        assert (await pay(rx, mesh, rx_id, patient)).status_code == 201
        refused = await dispense(rx, mesh, rx_id)
        assert_problem(refused, 403, "no-consent")
        assert (await ledger_entries(mesh))[-1]["kind"] == "access.refused"
        assert_problem(await rx.get(f"/prescriptions/{rx_id}", headers=auth(mesh, READ)), 403, "no-consent")

        citizen = await consent_app(mesh)
        asked = (await consent.get("/me/artefacts", params={"status": "requested"}, headers=citizen)).json()
        assert [a["controller"] for a in asked] == ["prescriptions"] and rx_id in asked[0]["summary"]
        given = await consent.post(f"/me/artefacts/{asked[0]['id']}/status", json={"status": "given"}, headers=citizen)
        assert given.status_code == 200, given.text

        dispensed = await dispense(rx, mesh, rx_id)
        assert dispensed.status_code == 201, dispensed.text
        assert dispensed.json()["medication"].startswith("Metformin") and "diagnosis_code" not in dispensed.json()
        read = (await ledger_entries(mesh))[-1]
        assert (read["kind"], read["purpose"], read["processing"]) == (
            "access.permitted",
            "dpv:ServiceProvision",
            "dpv:Use",
        )
        # The courier gets her address only under a consent of its own (the rest: test_journey_prescriptions).
        assert_problem(await deliver(rx, mesh, rx_id), 403, "no-consent")
        assert (await ledger_entries(mesh))[-1]["recipient"] == "parcel-courier"

        withdrawn = await consent.post(
            f"/me/artefacts/{asked[0]['id']}/status", json={"status": "withdrawn"}, headers=citizen
        )
        assert withdrawn.status_code == 200
        # withdrawn: the one read says so; a list leaves it out (and the refused read is logged all the same)
        assert_problem(await rx.get(f"/prescriptions/{rx_id}", headers=auth(mesh, READ)), 403, "no-consent")
        logged = len(await ledger_entries(mesh))
        assert (await rx.get(f"/citizens/{patient}/prescriptions", headers=auth(mesh, READ))).json() == []
        assert (await ledger_entries(mesh))[logged:][-1]["kind"] == "access.refused"
    assert not [word for word in HEALTH_DATA if word in department_dump(mesh)]


async def test_issuing_without_a_usable_pod_keeps_nothing(mesh):
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    await owner.aclose()
    _, missing = await issue_over_http(mesh, None)
    assert_problem(missing, 422, "pod-required")
    for elsewhere in (
        "https://evil.example/pods/x/",
        mesh.urls["pod"] + root + "diary/",
        mesh.urls["pod"] + "/pods/../x/",
    ):
        _, refused = await issue_over_http(mesh, elsewhere)
        assert_problem(refused, 422, "invalid-pod")
    _, no_pod = await issue_over_http(mesh, mesh.urls["pod"] + "/pods/nobody/")
    assert_problem(no_pod, 422, "pod-not-found")
    # Another citizen's pod: the hospital's legal basis is about Wang Fang, so Li Wei's pod refuses it.
    other, other_root, _ = await own_pod(mesh, "li-wei")
    await other.aclose()
    _, foreign = await issue_over_http(mesh, mesh.urls["pod"] + other_root)
    assert_problem(foreign, 403, "subject-mismatch")
    mesh.stop("pod")
    _, down = await issue_over_http(mesh, mesh.urls["pod"] + root)
    assert_problem(down, 503, "pod-unavailable")
    assert count(mesh, Prescription) == count(mesh, PrescriptionContent) == 0


async def test_contents_the_patient_removed_from_her_pod_are_gone_for_the_department(mesh):
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    _patient, issued = await issue_over_http(mesh, mesh.urls["pod"] + root)
    rx_id = issued.json()["id"]
    await give_the_pending_consent(mesh)
    async with mesh.client("prescriptions") as rx:
        assert (await rx.get(f"/prescriptions/{rx_id}", headers=auth(mesh, READ))).status_code == 200
        async with aclosing(owner):
            assert (await owner.delete(f"{root}prescriptions/{rx_id}")).status_code == 204
        # without the consent the pod would not even say whether it exists (403); with it: gone
        assert_problem(await rx.get(f"/prescriptions/{rx_id}", headers=auth(mesh, READ)), 410, "contents-erased")


async def test_a_deposit_only_creates_a_record_in_the_departments_own_container(mesh):
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    _, issued = await issue_over_http(mesh, mesh.urls["pod"] + root)
    existing = f"{root}prescriptions/{issued.json()['id']}"
    with app_db(mesh).session() as session:
        basis = session.get(Prescription, issued.json()["id"]).keeping_basis_id
    hospital = {
        "Authorization": "Bearer "
        + mint(mesh, client="prescriptions", scope="pod:deposit", audience="urn:citygate:pod"),
        "Consent-Purpose": "dpv:LegalCompliance",
        "Content-Type": "text/turtle",
        "Consent-Artefact": basis,
    }
    turtle = "<#it> <http://example.org/p> 1 ."
    async with aclosing(owner), mesh.client("pod") as pod:
        before = len(await ledger_entries(mesh))
        # A deposit names the basis it rests on for its own patient; "any basis about the pod's owner" is not asked.
        unnamed = {name: value for name, value in hospital.items() if name != "Consent-Artefact"}
        assert_problem(
            await pod.put(f"{root}prescriptions/new", content=turtle, headers=unnamed), 400, "artefact-required"
        )
        assert_problem(
            await pod.put(
                f"{root}prescriptions/new", content=turtle, headers=hospital | {"Consent-Artefact": "not an id!"}
            ),
            422,
            "invalid-artefact",
        )
        unknown = hospital | {"Consent-Artefact": "00000000-0000-0000-0000-000000000000"}
        assert_problem(await pod.put(f"{root}prescriptions/new", content=turtle, headers=unknown), 403, "no-consent")
        assert (await ledger_entries(mesh))[-1]["kind"] == "access.refused"
        assert (await owner.get(f"{root}prescriptions/new")).status_code == 404
        before = len(await ledger_entries(mesh))
        assert_problem(await pod.put(existing, content=turtle, headers=hospital), 409, "resource-exists")
        for path in (f"{root}diary/note", f"{root}prescriptions/", f"{root}prescriptions/.acl", f"{root}x.acl"):
            assert_problem(await pod.put(path, content=turtle, headers=hospital), 403, "forbidden")
        assert_problem(await pod.get(existing, headers=hospital), 403, "forbidden")  # deposit is not read
        assert_problem(await pod.delete(existing, headers=hospital), 403, "forbidden")
        assert_problem(await pod.put(f"{root}prescriptions/bad", content="<<not turtle", headers=hospital), 400)
        assert len(await ledger_entries(mesh)) == before  # nothing was decided, so nothing logged
        # Without a covering legal basis (another purpose) the deposit is refused, and that is logged.
        refused = await pod.put(
            f"{root}prescriptions/other", content=turtle, headers=hospital | {"Consent-Purpose": "dpv:DirectMarketing"}
        )
        assert_problem(refused, 403, "no-consent")
        assert (await ledger_entries(mesh))[-1]["kind"] == "access.refused"
        assert (await owner.get(f"{root}prescriptions/other")).status_code == 404
        # Another department cannot deposit at all, whatever its token says.
        fines = {
            "Authorization": "Bearer " + mint(mesh, client="fines", scope="pod:deposit", audience="urn:citygate:pod")
        }
        assert_problem(
            await pod.put(f"{root}prescriptions/x", content=turtle, headers=hospital | fines), 403, "forbidden-caller"
        )


# --- C1: what the doctor issued is what the pharmacy dispenses ---------------------------------------

OPIOID = ("Oxycodone hydrochloride 80 mg tablets", 10000)


async def issued_paid_and_consented(mesh):
    """Wang Fang's prescription, in her pod, paid, the pharmacy's consent given: her app and the ids."""
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    patient, issued = await issue_over_http(mesh, mesh.urls["pod"] + root)
    assert issued.status_code == 201, issued.text
    rx_id = issued.json()["id"]
    await give_the_pending_consent(mesh)
    async with mesh.client("prescriptions") as rx:
        assert (await pay(rx, mesh, rx_id, patient)).status_code == 201
    return owner, root, patient, rx_id


def forged(document: bytes) -> bytes:
    """The document with the medication and quantity replaced, signature and everything else kept."""
    text = document.decode()
    assert "Metformin hydrochloride 500 mg tablets" in text and "60" in text
    return (
        text.replace("Metformin hydrochloride 500 mg tablets", OPIOID[0])
        .replace(" 60 ", f" {OPIOID[1]} ")
        .replace('"60"', f'"{OPIOID[1]}"')
        .encode()
    )


async def assert_not_dispensed(mesh, rx_id: str, refused) -> None:
    assert_problem(refused, 409, "prescription-altered")
    with app_db(mesh).session() as session:
        record = session.get(Prescription, rx_id)
        assert (record.status, record.dispensed_at, record.pharmacy) == ("paid", None, None)
    assert count(mesh, Payment) == 1  # nothing charged beyond the original payment


async def test_a_prescription_the_patient_rewrote_in_her_pod_is_not_dispensed(mesh, caplog):
    owner, root, _, rx_id = await issued_paid_and_consented(mesh)
    path = f"{root}prescriptions/{rx_id}"
    async with aclosing(owner), mesh.client("prescriptions") as rx:
        original = await owner.get(path, headers={"Accept": "text/turtle"})
        replaced = await owner.put(path, content=forged(original.content), headers={"Content-Type": "text/turtle"})
        assert replaced.is_success, replaced.text
        await assert_not_dispensed(mesh, rx_id, await dispense(rx, mesh, rx_id))
        assert any(
            "prescription-altered" in record.getMessage() and rx_id in record.getMessage() for record in caplog.records
        )
        # An unsigned document (the attack of issue 13 as it was) is refused the same way.
        unsigned = b"\n".join(line for line in forged(original.content).splitlines() if b"signature" not in line)
        await owner.put(path, content=unsigned, headers={"Content-Type": "text/turtle"})
        await assert_not_dispensed(mesh, rx_id, await dispense(rx, mesh, rx_id))
        # Put back what the hospital deposited, and it is dispensed as issued.
        await owner.put(path, content=original.content, headers={"Content-Type": "text/turtle"})
        dispensed = await dispense(rx, mesh, rx_id)
        assert dispensed.status_code == 201, dispensed.text
        assert (dispensed.json()["medication"], dispensed.json()["quantity"]) == (
            "Metformin hydrochloride 500 mg tablets",
            60,
        )


async def test_a_signed_document_of_another_prescription_is_not_dispensed_in_its_place(mesh):
    owner, root, _, rx_id = await issued_paid_and_consented(mesh)
    _, second = await issue_over_http(mesh, mesh.urls["pod"] + root, medication="Oxycodone 80 mg", quantity=10000)
    assert second.status_code == 201, second.text
    async with aclosing(owner), mesh.client("prescriptions") as rx:
        other = await owner.get(f"{root}prescriptions/{second.json()['id']}", headers={"Accept": "text/turtle"})
        # Her other, genuinely signed document, copied over this one (its subject renamed to fit).
        replayed = other.content.replace(second.json()["id"].encode(), rx_id.encode())
        await owner.put(f"{root}prescriptions/{rx_id}", content=replayed, headers={"Content-Type": "text/turtle"})
        await assert_not_dispensed(mesh, rx_id, await dispense(rx, mesh, rx_id))


async def test_her_notes_beside_the_signed_prescription_never_change_what_is_dispensed(mesh):
    owner, root, _, rx_id = await issued_paid_and_consented(mesh)
    path = f"{root}prescriptions/{rx_id}"
    note = (
        "@prefix solid: <http://www.w3.org/ns/solid/terms#> . @prefix ex: <http://example.org/> . "
        '_:p a solid:InsertDeletePatch ; solid:inserts { <#it> ex:note "take with breakfast" . '
        f'<{mesh.urls["pod"]}{path}> ex:note "ask about Oxycodone 80 mg x10000" . }} .'
    )
    async with aclosing(owner), mesh.client("prescriptions") as rx:
        patched = await owner.patch(path, content=note, headers={"Content-Type": "text/n3"})
        assert patched.is_success, patched.text
        sibling = await owner.put(
            f"{root}prescriptions/{rx_id}-my-notes",
            content=f'<{mesh.urls["pod"]}{path}> <http://example.org/note> "10000" .',
            headers={"Content-Type": "text/turtle"},
        )
        assert sibling.is_success, sibling.text
        dispensed = await dispense(rx, mesh, rx_id)
        assert dispensed.status_code == 201, dispensed.text
        assert (dispensed.json()["medication"], dispensed.json()["quantity"]) == (
            "Metformin hydrochloride 500 mg tablets",
            60,
        )


async def test_anyone_verifies_the_deposited_prescription_with_the_hospitals_published_key(mesh):
    owner, root, _, rx_id = await issued_paid_and_consented(mesh)
    async with aclosing(owner), mesh.client("prescriptions") as rx:
        document = await owner.get(f"{root}prescriptions/{rx_id}", headers={"Accept": "text/turtle"})
        jwks = (await rx.get("/.well-known/jwks.json")).json()
    graph = Graph().parse(data=document.text, format="turtle", publicID=mesh.urls["pod"] + root)
    [signature] = [str(value) for value in graph.objects(None, RX.signature)]
    header = jwt.get_unverified_header(signature)
    [key] = [jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == header["kid"] and k.get("use") == "sig"]
    payload = json.loads(jwt.api_jws.PyJWS().decode(signature, key.key, algorithms=["ES256"]))
    assert header["typ"] == "prescription+jws"
    assert (payload["prescription_id"], payload["medication"], payload["quantity"], payload["iss"]) == (
        rx_id,
        "Metformin hydrochloride 500 mg tablets",
        60,
        "prescriptions",
    )
    with app_db(mesh).session() as session:
        record = session.get(Prescription, rx_id)
    assert record.contents_digest == hashlib.sha256(rfc8785.dumps(payload)).hexdigest()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.api_jws.PyJWS().decode(
            signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB"), key.key, algorithms=["ES256"]
        )


async def test_one_erased_altered_or_unconsented_prescription_does_not_hide_the_others(mesh):
    """Her right to erase one document (or to refuse one consent) is not a switch that makes every other
    prescription unreadable: a list leaves out what cannot be shown, the single read still says why."""
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    ids = []
    for _ in range(4):
        patient, issued = await issue_over_http(mesh, mesh.urls["pod"] + root)
        ids.append(issued.json()["id"])
    kept, erased, altered, unconsented = ids
    await give_the_pending_consent(mesh)
    with app_db(mesh).session() as session:
        withdrawn = session.get(Prescription, unconsented).dispensing_consent_id
    async with mesh.client("consent") as consent:
        assert (
            await consent.post(
                f"/me/artefacts/{withdrawn}/status", json={"status": "withdrawn"}, headers=await consent_app(mesh)
            )
        ).status_code == 200
    async with aclosing(owner):
        assert (await owner.delete(f"{root}prescriptions/{erased}")).status_code == 204
        document = (await owner.get(f"{root}prescriptions/{altered}", headers={"Accept": "text/turtle"})).text
        forged = document + f'\n<{mesh.urls["pod"]}{root}prescriptions/{altered}> <{RX.medication}> "Oxycodone" .\n'
        assert (
            await owner.put(f"{root}prescriptions/{altered}", content=forged, headers={"Content-Type": "text/turtle"})
        ).status_code in (200, 204, 205)
    async with mesh.client("identity") as identity:
        token = (
            await citizen_token(
                identity,
                username=PATIENT.handle,
                password=DEMO_PASSWORD,
                resource_service="prescriptions",
                totp_code=lambda: totp(PATIENT.totp_secret, time.time()),
            )
        ).access_token
    her_app = {"Authorization": f"Bearer {token}"}
    async with mesh.client("prescriptions") as rx:
        hers = await rx.get("/me/prescriptions", headers=her_app)
        assert hers.status_code == 200, hers.text
        # her own view rests on the hospital's duty, not on her consent to the pharmacy: only the gone and
        # the altered one are left out
        assert [p["id"] for p in hers.json()] == [kept, unconsented]
        services = await rx.get(f"/citizens/{patient}/prescriptions", headers=auth(mesh, READ))
        assert services.status_code == 200, services.text
        assert [p["id"] for p in services.json()] == [kept]
        # the single reads still say why
        assert_problem(await rx.get(f"/me/prescriptions/{erased}", headers=her_app), 410, "contents-erased")
        assert_problem(await rx.get(f"/me/prescriptions/{altered}", headers=her_app), 409, "prescription-altered")
        assert_problem(await rx.get(f"/prescriptions/{unconsented}", headers=auth(mesh, READ)), 403, "no-consent")


async def her_note_and_a_reader(mesh, owner, root: str, purpose: str) -> dict[str, str]:
    """She keeps a note of her own in her prescriptions container; the headers of the hospital reading her
    pod (``pod:read``) for ``purpose``."""
    async with aclosing(owner):
        assert (
            await owner.put(
                f"{root}prescriptions/my-note",
                content=b"I also take sertraline",
                headers={"Content-Type": "text/plain"},
            )
        ).status_code == 201
    return {
        "Authorization": "Bearer " + mint(mesh, client="prescriptions", scope="pod:read", audience="urn:citygate:pod"),
        PURPOSE_HEADER: purpose,
    }


async def test_her_consent_for_one_prescription_reads_that_one_and_nothing_else_in_her_pod(mesh):
    """Asked "the pharmacy reads prescription X", she said yes to X and no to Y: neither naming X's consent
    nor naming none makes Y (or her own note in the same container) readable — the consent covers the
    resource it was asked for, not the whole category."""
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    ids = []
    for _ in range(2):
        _, issued = await issue_over_http(mesh, mesh.urls["pod"] + root)
        ids.append(issued.json()["id"])
    given, refused = ids
    with app_db(mesh).session() as session:
        consents = [session.get(Prescription, rx_id).dispensing_consent_id for rx_id in ids]
    citizen = await consent_app(mesh)
    async with mesh.client("consent") as consent:
        for artefact, answer in zip(consents, ("given", "refused"), strict=True):
            assert (
                await consent.post(f"/me/artefacts/{artefact}/status", json={"status": answer}, headers=citizen)
            ).status_code == 200
        shown = (await consent.get(f"/me/artefacts/{consents[0]}", headers=citizen)).json()
    assert shown["resources"] == [f"{mesh.urls['pod']}{root}prescriptions/{given}"]
    pharmacy = await her_note_and_a_reader(mesh, owner, root, "dpv:ServiceProvision")
    async with mesh.client("pod") as pod:
        assert (
            await pod.get(f"{root}prescriptions/{given}", headers=pharmacy | {ARTEFACT_HEADER: consents[0]})
        ).status_code == 200
        for path in (f"prescriptions/{refused}", "prescriptions/my-note", "prescriptions/"):
            for named in ({ARTEFACT_HEADER: consents[0]}, {}):
                assert_problem(await pod.get(root + path, headers=pharmacy | named), 403, "no-consent")
    async with mesh.client("prescriptions") as rx:  # and the pharmacy's own route, as before
        assert (await rx.get(f"/prescriptions/{given}", headers=auth(mesh, READ))).status_code == 200
        assert_problem(await rx.get(f"/prescriptions/{refused}", headers=auth(mesh, READ)), 403, "no-consent")


async def test_the_hospitals_duty_to_keep_a_prescription_reads_that_prescription_not_her_notes(mesh):
    """The keeping basis (a law: keep the record, show it to her) is recorded per prescription, for its own
    document: it is no key to the rest of her prescriptions container."""
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    _, issued = await issue_over_http(mesh, mesh.urls["pod"] + root)
    rx_id = issued.json()["id"]
    with app_db(mesh).session() as session:
        basis = session.get(Prescription, rx_id).keeping_basis_id
    hospital = await her_note_and_a_reader(mesh, owner, root, "dpv:LegalCompliance")
    async with mesh.client("pod") as pod:
        assert (
            await pod.get(f"{root}prescriptions/{rx_id}", headers=hospital | {ARTEFACT_HEADER: basis})
        ).status_code == 200
        for named in ({ARTEFACT_HEADER: basis}, {}):
            assert_problem(await pod.get(f"{root}prescriptions/my-note", headers=hospital | named), 403, "no-consent")
