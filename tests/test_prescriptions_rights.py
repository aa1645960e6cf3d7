"""The hospital and pharmacy in the rights regime, on SQLite and PostgreSQL: a prescription's contents
are deposited in the patient's personal data pod (under the hospital's legal basis, logged), the
department keeps only the process record, and the pharmacy reads the contents from the pod only under
the patient's consent — every deposit, read and refusal in the transparency ledger."""

from __future__ import annotations

from contextlib import aclosing

import pytest
from rdflib import Graph
from sqlmodel import select

from identity.personas import DEMO_PASSWORD
from kernel.regime import Regime
from services.prescriptions.demo import PATIENT, demo_draft
from services.prescriptions.models import ContentsLocation, Prescription, PrescriptionContent, PrescriptionsTable
from services.prescriptions.pod_document import RX, from_turtle
from services.prescriptions.stores import PodStore
from tests.support import assert_problem
from tests.test_pod_consent import ledger_entries
from tests.test_pod_protocol import own_pod
from tests.test_prescriptions_api import READ, app_db, auth, count, deliver, dispense, pay
from tests.test_service_tokens import mint
from workshop.citizen_app import citizen_token

ISSUE = "prescriptions:issue"
HEALTH_DATA = ("Metformin", "E11.9", "500 mg twice daily", "Dr. Huang Lei")


@pytest.fixture
def regime() -> Regime:
    return Regime.RIGHTS


async def issue_over_http(mesh, pod: str | None, **overrides):
    patient = await mesh.apps["prescriptions"].state.services.sector_subject(PATIENT.resident_id)
    body = demo_draft(patient).model_dump() | {"pod": pod} | overrides
    async with mesh.client("prescriptions") as rx:
        return patient, await rx.post("/prescriptions", json=body, headers=auth(mesh, ISSUE))


async def consent_app(mesh) -> dict[str, str]:
    async with mesh.client("identity") as identity:
        token = (await citizen_token(identity, username=PATIENT.handle, password=DEMO_PASSWORD,
                                     resource_service="consent")).access_token
    return {"Authorization": f"Bearer {token}"}


async def give_the_pending_consent(mesh) -> None:
    citizen = await consent_app(mesh)
    async with mesh.client("consent") as consent:
        asked = (await consent.get("/me/artefacts", params={"status": "requested"}, headers=citizen)).json()
        for request in asked:
            given = await consent.post(f"/me/artefacts/{request['id']}/status", json={"status": "given"},
                                       headers=citizen)
            assert given.status_code == 200, given.text


def department_dump(mesh) -> str:
    """Every value in every table of the department's database, as text."""
    with app_db(mesh).session() as session:
        return repr([session.exec(select(table)).all() for table in PrescriptionsTable.metadata.sorted_tables])


async def test_issued_into_the_pod_dispensed_only_under_consent_and_every_step_is_logged(mesh):
    assert isinstance(mesh.apps["prescriptions"].state.policy.store, PodStore)
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
        "prescriptions", "dpv:Store", "dpv:LegalCompliance", "pd:Prescription")

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
            "access.permitted", "dpv:ServiceProvision", "dpv:Use")
        # The courier gets her address only under a consent of its own (the rest: test_journey_prescriptions).
        assert_problem(await deliver(rx, mesh, rx_id), 403, "no-consent")
        assert (await ledger_entries(mesh))[-1]["recipient"] == "parcel-courier"

        withdrawn = await consent.post(f"/me/artefacts/{asked[0]['id']}/status", json={"status": "withdrawn"},
                                       headers=citizen)
        assert withdrawn.status_code == 200
        assert_problem(await rx.get(f"/citizens/{patient}/prescriptions", headers=auth(mesh, READ)), 403, "no-consent")
    assert not [word for word in HEALTH_DATA if word in department_dump(mesh)]


async def test_issuing_without_a_usable_pod_keeps_nothing(mesh):
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    await owner.aclose()
    _, missing = await issue_over_http(mesh, None)
    assert_problem(missing, 422, "pod-required")
    for elsewhere in ("https://evil.example/pods/x/", mesh.urls["pod"] + root + "diary/",
                      mesh.urls["pod"] + "/pods/../x/"):
        _, refused = await issue_over_http(mesh, elsewhere)
        assert_problem(refused, 422, "invalid-pod")
    _, no_pod = await issue_over_http(mesh, mesh.urls["pod"] + "/pods/nobody/")
    assert_problem(no_pod, 422, "pod-not-found")
    # Another citizen's pod: the hospital's legal basis is about Wang Fang, so Li Wei's pod refuses it.
    other, other_root, _ = await own_pod(mesh, "li-wei")
    await other.aclose()
    _, foreign = await issue_over_http(mesh, mesh.urls["pod"] + other_root)
    assert_problem(foreign, 403, "no-consent")
    mesh.stop("pod")
    _, down = await issue_over_http(mesh, mesh.urls["pod"] + root)
    assert_problem(down, 503, "pod-unavailable")
    assert count(mesh, Prescription) == count(mesh, PrescriptionContent) == 0


async def test_contents_the_patient_removed_from_her_pod_are_gone_for_the_department(mesh):
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    patient, issued = await issue_over_http(mesh, mesh.urls["pod"] + root)
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
    hospital = {"Authorization": "Bearer " + mint(mesh, client="prescriptions", scope="pod:deposit",
                                                  audience="urn:citygate:pod"),
                "Consent-Purpose": "dpv:LegalCompliance", "Content-Type": "text/turtle"}
    turtle = "<#it> <http://example.org/p> 1 ."
    async with aclosing(owner), mesh.client("pod") as pod:
        before = len(await ledger_entries(mesh))
        assert_problem(await pod.put(existing, content=turtle, headers=hospital), 409, "resource-exists")
        for path in (f"{root}diary/note", f"{root}prescriptions/", f"{root}prescriptions/.acl", f"{root}x.acl"):
            assert_problem(await pod.put(path, content=turtle, headers=hospital), 403, "forbidden")
        assert_problem(await pod.get(existing, headers=hospital), 403, "forbidden")  # deposit is not read
        assert_problem(await pod.delete(existing, headers=hospital), 403, "forbidden")
        assert_problem(await pod.put(f"{root}prescriptions/bad", content="<<not turtle", headers=hospital), 400)
        assert len(await ledger_entries(mesh)) == before  # nothing was decided, so nothing logged
        # Without a covering legal basis (another purpose) the deposit is refused, and that is logged.
        refused = await pod.put(f"{root}prescriptions/other", content=turtle,
                                headers=hospital | {"Consent-Purpose": "dpv:DirectMarketing"})
        assert_problem(refused, 403, "no-consent")
        assert (await ledger_entries(mesh))[-1]["kind"] == "access.refused"
        assert (await owner.get(f"{root}prescriptions/other")).status_code == 404
        # Another department cannot deposit at all, whatever its token says.
        fines = {"Authorization": "Bearer " + mint(mesh, client="fines", scope="pod:deposit",
                                                   audience="urn:citygate:pod")}
        assert_problem(await pod.put(f"{root}prescriptions/x", content=turtle, headers=hospital | fines), 403,
                       "forbidden-caller")
