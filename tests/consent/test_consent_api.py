"""The consent service over HTTP in the rights regime: a department asks, the citizen answers in their
own app, a data holder asks before every read, and the citizen sees every event with its proof."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from joserfc.jwk import KeySet
from sqlmodel import select

from consent.receipts import verify_receipt
from consent.tree_heads import verify_tree_head
from consent.verify import own_entry_is_logged
from identity.models import Citizen
from kernel.legal_bases import MEDICAL_RECORDS_RETENTION
from kernel.personas import by_handle
from kernel.state import ServiceState, state_of
from tests.fixtures.logins import app_login
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.subjects import pseudonym
from tests.fixtures.tokens import service_bearer

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS, pytest.mark.started("identity")]

PATIENT = by_handle("wang-fang")
OTHER = by_handle("li-wei")


def service_headers(mesh: Mesh, client: str, scope: str) -> dict[str, str]:
    return service_bearer(mesh, scope, client=client, audience="urn:citygate:consent")


async def app_token(mesh: Mesh, handle: str) -> str:
    return (await app_login(mesh, persona=by_handle(handle))).access_token


async def as_citizen(mesh: Mesh, handle: str) -> httpx.AsyncClient:
    client = mesh.client("consent")
    client.headers["Authorization"] = f"Bearer {await app_token(mesh, handle)}"
    return client


def consent_request(subject: str, **overrides) -> dict:
    return {
        "subject": subject,
        "purposes": ["dpv:ServiceProvision"],
        "categories": ["pd:Prescription"],
        "recipients": ["prescriptions"],
        "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "notice": "The pharmacy reads your prescription from your pod to dispense it.",
        **overrides,
    }


async def ask(mesh: Mesh, handle: str = "wang-fang", **overrides) -> dict:
    subject = await pseudonym(mesh, "prescriptions", handle)
    async with mesh.client("consent") as consent:
        response = await consent.post(
            "/consent-requests",
            json=consent_request(subject, **overrides),
            headers=service_headers(mesh, "prescriptions", "consent:request"),
        )
    assert response.status_code == 201, response.text
    return response.json()


async def decide(mesh: Mesh, handle: str, **overrides) -> httpx.Response:
    # the holder (the pod, issue 6) names the citizen by its own sector's pseudonym
    body = {
        "subject": await pseudonym_for_pod(mesh, handle),
        "recipient": "prescriptions",
        "category": "pd:Prescription",
        "purpose": "dpv:ServiceProvision",
        **overrides,
    }
    async with mesh.client("consent") as consent:
        return await consent.post("/decisions", json=body, headers=service_headers(mesh, "pod", "consent:decide"))


async def pseudonym_for_pod(mesh: Mesh, handle: str) -> str:
    """The pod's sector pseudonym, as the identity provider computes it (the pod has no desk to ask at)."""
    identity = mesh.apps["identity"]
    with state_of(identity, ServiceState).database.session() as session:
        citizen = session.exec(select(Citizen).where(Citizen.resident_id == by_handle(handle).resident_id)).one()
    return identity.state.service.policy.subject_for(citizen, "pod")


async def test_a_department_asks_the_citizen_answers_and_the_holder_is_told(mesh):
    requested = await ask(mesh)
    assert requested["status"] == "requested" and requested["controller"] == "prescriptions"
    assert "prescriptions asks that prescriptions may use your prescriptions" in requested["summary"]

    citizen = await as_citizen(mesh, "wang-fang")
    async with citizen:
        inbox = (await citizen.get("/me/artefacts", params={"status": "requested"})).json()
        assert [a["id"] for a in inbox] == [requested["id"]]
        assert (await decide(mesh, "wang-fang")).json()["permitted"] is False  # not yet given

        given = await citizen.post(f"/me/artefacts/{requested['id']}/status", json={"status": "given"})
        assert given.status_code == 200 and given.json()["status"] == "given"
        allowed = (await decide(mesh, "wang-fang", artefact=given.json()["receipt"])).json()
        assert allowed["permitted"] is True and allowed["artefact_id"] == requested["id"]

        withdrawn = await citizen.post(f"/me/artefacts/{requested['id']}/status", json={"status": "withdrawn"})
        assert withdrawn.json()["status"] == "withdrawn"
        refused = (await decide(mesh, "wang-fang")).json()
        assert refused["permitted"] is False and refused["ledger_index"] is not None

        again = await citizen.post(f"/me/artefacts/{requested['id']}/status", json={"status": "given"})
        body = assert_problem(again, 409, "forbidden-transition")
        assert body["current"] == "withdrawn" and body["allowed"] == []

    # the department sees the answer; the receipt verifies with the published key alone
    async with mesh.client("consent") as consent:
        seen = await consent.get(
            f"/artefacts/{requested['id']}", headers=service_headers(mesh, "prescriptions", "consent:request")
        )
        jwks = (await consent.get("/.well-known/jwks.json")).json()
    assert verify_receipt(seen.json()["receipt"], KeySet.import_key_set(jwks))["status"] == "withdrawn"


async def test_nobody_but_the_subject_sees_or_decides_an_artefact(mesh):
    requested = await ask(mesh)
    async with await as_citizen(mesh, "li-wei") as other:
        assert (await other.get("/me/artefacts")).json() == []
        assert_problem(await other.get(f"/me/artefacts/{requested['id']}"), 404, "artefact-not-found")
        grab = await other.post(f"/me/artefacts/{requested['id']}/status", json={"status": "given"})
        assert_problem(grab, 404, "artefact-not-found")
    async with mesh.client("consent") as consent:
        # another department cannot read it either, nor can a citizen use the service API
        foreign = await consent.get(
            f"/artefacts/{requested['id']}", headers=service_headers(mesh, "fines", "consent:request")
        )
        assert_problem(foreign, 404, "artefact-not-found")
        citizen_on_service_api = await consent.post(
            "/decisions", json={}, headers={"Authorization": f"Bearer {await app_token(mesh, 'wang-fang')}"}
        )
        assert citizen_on_service_api.status_code == 403
        # and a department cannot act as the citizen
        as_citizen_api = await consent.get("/me/artefacts", headers=service_headers(mesh, "pod", "consent:decide"))
        assert as_citizen_api.status_code == 403
        assert (await consent.get("/me/artefacts")).status_code == 401


async def test_bad_requests_get_problems_with_the_right_status(mesh):
    subject = await pseudonym(mesh, "prescriptions", "wang-fang")
    headers = service_headers(mesh, "prescriptions", "consent:request")
    async with mesh.client("consent") as consent:
        unknown = await consent.post(
            "/consent-requests", headers=headers, json=consent_request(subject, purposes=["dpv:Surveillance"])
        )
        assert assert_problem(unknown, 422, "unknown-term")["unknown"] == {"purposes": ["dpv:Surveillance"]}
        nobody = await consent.post("/consent-requests", headers=headers, json=consent_request("not-a-pseudonym"))
        assert_problem(nobody, 404, "subject-unknown")
        assert_problem(await consent.post("/consent-requests", headers=headers, json={"subject": subject}), 422)
        pod = service_headers(mesh, "pod", "consent:decide")
        forged = await consent.post(
            "/decisions",
            headers=pod,
            json={
                "subject": await pseudonym_for_pod(mesh, "wang-fang"),
                "recipient": "prescriptions",
                "category": "pd:Prescription",
                "purpose": "dpv:ServiceProvision",
                "artefact": "eyJ.forged.x",
            },
        )
        assert_problem(forged, 422, "invalid-artefact")
        # a department may not ask the decision question, the pod may not create requests
        assert (await consent.post("/decisions", headers=headers, json={})).status_code == 403
        assert (await consent.post("/consent-requests", headers=pod, json={})).status_code == 403
        for path in (
            "/ledger/inclusion-proof?leaf_index=5&tree_size=3",
            "/ledger/roots/999",
            "/ledger/consistency-proof?first=1&second=999",
        ):
            assert_problem(await consent.get(path), 400, "beyond-tree-size")
        assert_problem(await consent.get("/ledger/consistency-proof?first=3&second=2"), 400, "invalid-range")
        assert_problem(await consent.get("/ledger/entries?start=3&end=3"), 400, "invalid-range")


async def test_other_legal_bases_appear_in_the_citizens_view_and_cannot_be_withdrawn(mesh):
    subject = await pseudonym(mesh, "prescriptions", "li-wei")
    async with mesh.client("consent") as consent:
        recorded = await consent.post(
            "/legal-bases",
            headers=service_headers(mesh, "prescriptions", "consent:record"),
            json={
                "subject": subject,
                "legal_basis": "dpv:LegalObligation",
                "law_reference": MEDICAL_RECORDS_RETENTION,
                "purposes": ["dpv:LegalCompliance"],
                "categories": ["pd:Prescription"],
                "processing": ["dpv:Store"],
                "valid_until": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
            },
        )
    assert recorded.status_code == 201 and recorded.json()["status"] == "given"
    async with await as_citizen(mesh, "li-wei") as citizen:
        mine = (await citizen.get("/me/artefacts")).json()
        assert [a["legal_basis"] for a in mine] == ["dpv:LegalObligation"]
        refused = await citizen.post(f"/me/artefacts/{mine[0]['id']}/status", json={"status": "withdrawn"})
        assert_problem(refused, 409, "not-consent-based")


async def test_the_access_log_shows_the_citizens_events_newest_first_each_with_a_valid_proof(mesh):
    requested = await ask(mesh)
    await ask(mesh, handle="li-wei")  # someone else's events stay out of her log
    async with await as_citizen(mesh, "wang-fang") as citizen:
        await citizen.post(f"/me/artefacts/{requested['id']}/status", json={"status": "given"})
        await decide(mesh, "wang-fang")
        log = (await citizen.get("/me/access-log")).json()
        filtered = (await citizen.get("/me/access-log", params={"recipient": "nobody"})).json()
        jwks = (await citizen.get("/.well-known/jwks.json")).json()
    head = verify_tree_head(log["tree_head"], KeySet.import_key_set(jwks))
    kinds = [entry["entry"]["kind"] for entry in log["entries"]]
    assert kinds == ["access.permitted", "consent.given", "consent.requested"]
    assert [e["index"] for e in log["entries"]] == sorted((e["index"] for e in log["entries"]), reverse=True)
    assert all(own_entry_is_logged(entry, head) for entry in log["entries"])
    assert filtered["entries"] == []
    # the public log holds pseudonyms of one sector per entry and none of the consent service's own keys
    async with mesh.client("consent") as consent:
        entries = (await consent.get("/ledger/entries", params={"start": 0, "end": head.tree_size})).json()["entries"]
    everything = b"".join(base64.b64decode(e["entry"]) for e in entries)
    assert PATIENT.resident_id.encode() not in everything and OTHER.resident_id.encode() not in everything


async def test_there_is_no_unlogged_decision_a_holder_could_use_as_an_oracle(mesh):
    requested = await ask(mesh)
    async with await as_citizen(mesh, "wang-fang") as citizen:
        await citizen.post(f"/me/artefacts/{requested['id']}/status", json={"status": "given"})
        async with mesh.client("consent") as consent:
            size = (await consent.get("/ledger/tree-head")).json()["tree_size"]
        # the old "preview" flag is refused, not silently honoured: nothing decided, nothing learnt
        quiet = assert_problem(await decide(mesh, "wang-fang", log_access=False), 422)
        assert "permitted" not in quiet
        async with mesh.client("consent") as consent:
            assert (await consent.get("/ledger/tree-head")).json()["tree_size"] == size
        answered = (await decide(mesh, "wang-fang")).json()
        refused = (await decide(mesh, "wang-fang", category="pd:HealthRecord")).json()
        assert (answered["permitted"], answered["ledger_index"]) == (True, size)
        assert (refused["permitted"], refused["ledger_index"]) == (False, size + 1)  # a "no" is logged too
        log = (await citizen.get("/me/access-log")).json()
    assert [(e["index"], e["entry"]["kind"]) for e in log["entries"][:2]] == [
        (size + 1, "access.refused"),
        (size, "access.permitted"),
    ]


async def test_the_access_log_refuses_times_without_a_zone_and_unbounded_filters_as_422_not_500(mesh):
    await ask(mesh)
    async with await as_citizen(mesh, "wang-fang") as citizen:
        for params in ({"since": "2026-01-01T00:00:00"}, {"until": "2026-01-01T00:00:00"}, {"recipient": "x" * 10_000}):
            assert_problem(await citizen.get("/me/access-log", params=params), 422)
        # with a zone, at the ends of what a datetime holds: an answer, never a 500
        for params in (
            {"since": "0001-01-01T00:00:00-23:59"},
            {"until": "9999-12-31T23:59:59+23:59"},
            {"since": "2026-01-01T00:00:00+08:00"},
        ):
            assert (await citizen.get("/me/access-log", params=params)).status_code in (200, 422)
        assert (
            len((await citizen.get("/me/access-log", params={"since": "2000-01-01T00:00:00Z"})).json()["entries"]) == 1
        )
