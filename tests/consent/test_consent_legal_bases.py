"""Legal bases come from the law (kernel/legal_bases.py), not from the department that relies on them:
a basis the law does not declare is refused and nothing is recorded, and a recorded basis covers
only the controller it names — at the consent service's decision and again at the pod."""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from consent.dependencies import ConsentState
from consent.models import LegalBasisCreate, Mode, Status
from consent.terms import check_declared_in_law
from consent.vocabulary import LegalBasis
from kernel.legal_bases import LEGAL_BASES, MEDICAL_RECORDS_RETENTION
from kernel.state import state_of
from pod.consent_gate import decided_for
from services.prescriptions.pod_store import keeping_basis as hospitals_keeping_basis
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.pod_clients import own_pod
from tests.fixtures.problems import assert_problem
from tests.fixtures.subjects import pseudonym
from tests.fixtures.tokens import service_bearer

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS, pytest.mark.started("consent")]

HEALTH_NOTE = '@prefix ex: <http://example.org/h#> .\n<#note> ex:text "HIV positive, on treatment" .\n'


def as_service(mesh: Mesh, client: str, scope: str, audience: str, **headers: str) -> dict[str, str]:
    return service_bearer(mesh, scope, client=client, audience=audience) | headers


def keeping_basis(subject: str, **overrides) -> dict:
    """The basis the hospital records before depositing a prescription, exactly as the law declares it."""
    return {
        "subject": subject,
        "legal_basis": "dpv:LegalObligation",
        "law_reference": MEDICAL_RECORDS_RETENTION,
        "purposes": ["dpv:LegalCompliance"],
        "categories": ["pd:Prescription"],
        "processing": ["dpv:Store", "dpv:Use"],
        "valid_until": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
        **overrides,
    }


async def record(mesh: Mesh, service: str, body: dict):
    async with mesh.client("consent") as consent:
        return await consent.post(
            "/legal-bases", json=body, headers=as_service(mesh, service, "consent:record", "urn:citygate:consent")
        )


async def ledger_size(mesh: Mesh) -> int:
    async with mesh.client("consent") as consent:
        return (await consent.get("/ledger/tree-head")).json()["tree_size"]


async def test_the_traffic_police_cannot_grant_itself_health_data_nor_read_the_health_note(mesh):
    owner, root, _ = await own_pod(mesh, "wang-fang")
    note = f"{root}health/note.ttl"
    async with aclosing(owner), mesh.client("pod") as pod:
        assert (await owner.put(note, content=HEALTH_NOTE, headers={"Content-Type": "text/turtle"})).status_code == 201
        before = await ledger_size(mesh)
        refused = await record(
            mesh,
            "fines",
            keeping_basis(
                await pseudonym(mesh, "fines", "wang-fang"),
                law_reference="Road Traffic Safety Law, art. 114",
                purposes=["dpv:LegalCompliance"],
                categories=["pd:HealthRecord"],
                processing=["dpv:Use"],
            ),
        )
        body = assert_problem(refused, 403, "legal-basis-not-in-law")
        assert body["declared"] == []  # the law gives the traffic police no basis at all here
        assert await ledger_size(mesh) == before  # nothing recorded, nothing logged

        read = await pod.get(
            note,
            headers=as_service(
                mesh, "fines", "pod:read", "urn:citygate:pod", **{"Consent-Purpose": "dpv:LegalCompliance"}
            ),
        )
        assert_problem(read, 403, "no-consent")
        assert "HIV" not in read.text


@pytest.mark.parametrize(
    "stretch",
    [
        {"processing": ["dpv:Store", "dpv:Use", "dpv:Disclose"]},  # more processing than the law allows
        {"categories": ["pd:Prescription", "pd:HealthRecord"]},  # more data
        {"purposes": ["dpv:DirectMarketing"]},  # another purpose
        {"recipients": ["fines"]},  # handing the basis to another department
        {"law_reference": "Hospital's own rules, art. 1"},  # another law than the one declared
        {"legal_basis": "dpv:VitalInterest"},  # another basis
    ],
)
async def test_the_hospital_may_record_only_what_the_law_declares(mesh, stretch):
    subject = await pseudonym(mesh, "prescriptions", "wang-fang")
    before = await ledger_size(mesh)
    body = assert_problem(
        await record(mesh, "prescriptions", keeping_basis(subject, **stretch)), 403, "legal-basis-not-in-law"
    )
    assert body["declared"][0]["categories"] == ["pd:Prescription"]  # the refusal shows what the law says
    assert await ledger_size(mesh) == before
    recorded = await record(mesh, "prescriptions", keeping_basis(subject))  # exactly the law: recorded
    assert recorded.status_code == 201 and recorded.json()["recipients"] == ["prescriptions"]


async def test_a_basis_recorded_by_the_hospital_cannot_be_used_by_the_traffic_police(mesh, monkeypatch):
    # Even were a law to name other recipients, a basis covers its controller's own processing only:
    # the traffic police cannot read the pod under the hospital's basis.
    generous = replace(
        LEGAL_BASES[0], processing=frozenset({"dpv:Store", "dpv:Use"}), recipients=frozenset({"prescriptions", "fines"})
    )
    monkeypatch.setattr("consent.terms.LEGAL_BASES", (generous,), raising=False)
    owner, root, _ = await own_pod(mesh, "wang-fang")
    rx = f"{root}prescriptions/rx-1.ttl"
    async with aclosing(owner), mesh.client("pod") as pod:
        assert (await owner.put(rx, content=HEALTH_NOTE, headers={"Content-Type": "text/turtle"})).status_code == 201
        recorded = await record(
            mesh,
            "prescriptions",
            keeping_basis(
                await pseudonym(mesh, "prescriptions", "wang-fang"),
                processing=["dpv:Store", "dpv:Use"],
                recipients=["prescriptions", "fines"],
            ),
        )
        assert recorded.status_code == 201, recorded.text
        purpose = {"Consent-Purpose": "dpv:LegalCompliance"}
        by_fines = await pod.get(rx, headers=as_service(mesh, "fines", "pod:read", "urn:citygate:pod", **purpose))
        assert_problem(by_fines, 403, "no-consent")
        assert "HIV" not in by_fines.text
        # nor by presenting the hospital's own signed receipt for it
        with_receipt = await pod.get(
            rx,
            headers=as_service(
                mesh,
                "fines",
                "pod:read",
                "urn:citygate:pod",
                **purpose,
                **{"Consent-Receipt": recorded.json()["receipt"]},
            ),
        )
        assert_problem(with_receipt, 403, "no-consent")
        assert "HIV" not in with_receipt.text and "only its controller" in with_receipt.json()["detail"]
        # the hospital itself is covered by its own basis
        by_hospital = await pod.get(
            rx, headers=as_service(mesh, "prescriptions", "pod:read", "urn:citygate:pod", **purpose)
        )
        assert by_hospital.status_code == 200, by_hospital.text


async def test_the_pod_releases_nothing_on_a_yes_that_is_not_for_the_reader(mesh, monkeypatch):
    # A consent service that wrongly lends the hospital's basis to anyone: the pod still refuses.
    monkeypatch.setattr("consent.decisions._refusal", lambda artefact, citizen_key, body: None)
    owner, root, _ = await own_pod(mesh, "wang-fang")
    rx = f"{root}prescriptions/rx-1.ttl"
    async with aclosing(owner), mesh.client("pod") as pod:
        assert (await owner.put(rx, content=HEALTH_NOTE, headers={"Content-Type": "text/turtle"})).status_code == 201
        assert (
            await record(mesh, "prescriptions", keeping_basis(await pseudonym(mesh, "prescriptions", "wang-fang")))
        ).status_code == 201
        by_fines = await pod.get(
            rx,
            headers=as_service(
                mesh, "fines", "pod:read", "urn:citygate:pod", **{"Consent-Purpose": "dpv:LegalCompliance"}
            ),
        )
        assert_problem(by_fines, 403, "no-consent")
        assert "HIV" not in by_fines.text


def test_a_yes_covers_the_reader_only_when_it_names_it_and_a_law_is_its_own():
    consent = {"permitted": True, "recipient": "fines", "controller": "prescriptions", "legal_basis": "dpv:Consent"}
    law = consent | {"legal_basis": "dpv:LegalObligation"}
    assert decided_for(consent, "fines")  # a consent the hospital asked for naming fines as recipient
    assert not decided_for(consent, "appointments")  # not for another reader
    assert not decided_for(law, "fines")  # the hospital's law is not the traffic police's
    assert decided_for(law | {"controller": "fines"}, "fines")
    assert not decided_for({"permitted": True, "ledger_index": 3}, "fines")  # an answer naming nobody


async def test_a_basis_no_declared_law_gives_covers_nothing_even_if_already_recorded(mesh):
    # a self-granted basis written before the law table existed (or under a law since repealed)
    subject = await pseudonym(mesh, "fines", "wang-fang")
    consent = state_of(mesh.apps["consent"], ConsentState)
    book = consent.consent_book
    citizen_key = await consent.subject_links.citizen_key_of(consent.services, "fines", subject)
    legacy = LegalBasisCreate(
        **keeping_basis(
            subject,
            law_reference="Road Traffic Safety Law, art. 114",
            categories=["pd:HealthRecord"],
            processing=["dpv:Use"],
        )
    )
    book._create(
        citizen_key,
        "fines",
        legacy,
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        status=Status.GIVEN,
        notice="",
        mode=Mode.RECURRING,
        law_reference=legacy.law_reference,
    )
    owner, root, _ = await own_pod(mesh, "wang-fang")
    note = f"{root}health/note.ttl"
    async with aclosing(owner), mesh.client("pod") as pod:
        assert (await owner.put(note, content=HEALTH_NOTE, headers={"Content-Type": "text/turtle"})).status_code == 201
        read = await pod.get(
            note,
            headers=as_service(
                mesh, "fines", "pod:read", "urn:citygate:pod", **{"Consent-Purpose": "dpv:LegalCompliance"}
            ),
        )
        assert_problem(read, 403, "no-consent")
        assert "HIV" not in read.text


def test_the_basis_the_hospital_records_is_exactly_one_the_law_declares():
    # the hospital's request and the law table are written in two places: this keeps them agreeing
    check_declared_in_law(
        "prescriptions",
        LegalBasisCreate(**hospitals_keeping_basis("some-pseudonym", "http://pod.example/pods/p/prescriptions/rx-1")),
    )
