"""Journey 5, "my data" (rights regime): through the super-app's blind courier the citizen's app
sees her consents, gives and revokes one, reads who read her data with a proof she checks herself
— and the revocation stops the very next read. The super-app relays all of it unread."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import pytest
from joserfc.jwk import KeySet

from consent.tree_heads import verify_tree_head
from consent.verify import own_entry_is_logged
from kernel.courier import open_response, seal_request
from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from tests.fixtures.logins import super_app
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.pod_clients import PRESCRIPTION, PURPOSE, own_pod, pharmacy
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import mint
from workshop.citizen_app import citizen_token

pytestmark = [BOTH_BACKENDS, pytest.mark.started("prescriptions")]

PATIENT = by_handle("wang-fang")


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_my_data_through_the_courier_consents_access_log_with_proofs_and_revocation(mesh):
    owner, root, _ = await own_pod(mesh, PATIENT.handle)
    record = f"{root}prescriptions/rx-1.ttl"
    async with aclosing(owner):
        assert (
            await owner.put(record, content=PRESCRIPTION, headers={"Content-Type": "text/turtle"})
        ).status_code == 201
    subject = await mesh.apps["prescriptions"].state.service.services.sector_subject(PATIENT.resident_id)
    async with mesh.client("consent") as consent:
        asked = await consent.post(
            "/consent-requests",
            json={
                "subject": subject,
                "purposes": [PURPOSE],
                "categories": ["pd:Prescription"],
                "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            },
            headers={
                "Authorization": "Bearer "
                + mint(mesh, client="prescriptions", scope="consent:request", audience="urn:citygate:consent")
            },
        )
        assert asked.status_code == 201, asked.text
        jwks = (await consent.get("/.well-known/jwks.json")).json()

    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser, mesh.client("identity") as identity:
        token = (
            await citizen_token(identity, username=PATIENT.handle, password=DEMO_PASSWORD, resource_service="consent")
        ).access_token

        async def my_data(method: str, path: str, body=None):
            envelope, reply_key = seal_request(jwks, method=method, path=path, body=body, token=token)
            relayed = await browser.post("/courier/consent", json={"envelope": envelope})
            assert relayed.status_code == 200, relayed.text
            assert "pd:Prescription" not in relayed.text and "prescriptions" not in relayed.text
            return open_response(relayed.json()["envelope"], reply_key)

        pending = await my_data("GET", "/me/artefacts?status=requested")
        assert pending.status == 200 and [a["id"] for a in pending.body] == [asked.json()["id"]]
        given = await my_data("POST", f"/me/artefacts/{asked.json()['id']}/status", {"status": "given"})
        assert given.status == 200 and given.body["status"] == "given"

        async with mesh.client("pod") as pod:
            read = await pod.get(record, headers=pharmacy(mesh, **{"Consent-Purpose": PURPOSE}))
            assert read.status_code == 200

        log = await my_data("GET", "/me/access-log")
        head = verify_tree_head(log.body["tree_head"], KeySet.import_key_set(jwks))
        newest = log.body["entries"][0]
        assert newest["entry"]["kind"] == "access.permitted" and newest["entry"]["recipient"] == "prescriptions"
        assert own_entry_is_logged(newest, head)  # it opens a public commitment that is in the signed tree

        revoked = await my_data("POST", f"/me/artefacts/{asked.json()['id']}/status", {"status": "withdrawn"})
        assert revoked.status == 200 and revoked.body["status"] == "withdrawn"
        async with mesh.client("pod") as pod:
            assert_problem(
                await pod.get(record, headers=pharmacy(mesh, **{"Consent-Purpose": PURPOSE})), 403, "no-consent"
            )
        assert (await my_data("GET", "/me/access-log")).body["entries"][0]["entry"]["kind"] == "access.refused"

        # another citizen's artefact is not hers to see, even through the courier
        someone_else = await my_data("GET", "/me/artefacts/not-hers")
        assert someone_else.status == 404
        assert (await browser.get("/me/history")).json() == []


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_the_platform_offers_no_my_data_and_relays_nothing(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        assert "my-data" not in {entry["key"] for entry in (await browser.get("/catalogue")).json()}
        assert_problem(await browser.post("/courier/consent", json={"envelope": "x"}), 404)
