"""A department reads from a citizen's pod only under a consent the consent service confirms, and
every read — and every refusal — is in the transparency ledger before anything leaves the pod."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import pytest

from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.state import ServiceState, state_of
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.pod_clients import PRESCRIPTION, PURPOSE, own_pod, pharmacy
from tests.fixtures.problems import assert_problem
from tests.fixtures.stored import ledger_entries
from tests.fixtures.tokens import mint
from workshop.citizen_app import citizen_token

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS, pytest.mark.started("prescriptions")]


async def consent_for_the_pharmacy(mesh: Mesh) -> tuple[dict, str]:
    """The pharmacy asks, Wang Fang gives it in her app: the artefact and her consent-app token."""
    subject = await state_of(mesh.apps["prescriptions"], ServiceState).services.sector_subject(
        by_handle("wang-fang").resident_id
    )
    async with mesh.client("consent") as consent:
        asked = await consent.post(
            "/consent-requests",
            headers={
                "Authorization": "Bearer "
                + mint(mesh, client="prescriptions", scope="consent:request", audience="urn:citygate:consent")
            },
            json={
                "subject": subject,
                "purposes": [PURPOSE],
                "categories": ["pd:Prescription"],
                "valid_until": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            },
        )
        assert asked.status_code == 201, asked.text
    async with mesh.client("identity") as identity:
        token = (
            await citizen_token(identity, username="wang-fang", password=DEMO_PASSWORD, resource_service="consent")
        ).access_token
    async with mesh.client("consent") as consent:
        given = await consent.post(
            f"/me/artefacts/{asked.json()['id']}/status",
            json={"status": "given"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert given.status_code == 200, given.text
    return given.json(), token


async def test_no_consent_no_read_then_consent_read_then_withdrawn_no_read_all_logged(mesh):
    owner, root, _ = await own_pod(mesh, "wang-fang")
    rx = f"{root}prescriptions/rx-1.ttl"
    async with aclosing(owner), mesh.client("pod") as pod:
        assert (await owner.put(rx, content=PRESCRIPTION, headers={"Content-Type": "text/turtle"})).status_code == 201

        refused = await pod.get(rx, headers=pharmacy(mesh, **{"Consent-Purpose": PURPOSE}))
        body = assert_problem(refused, 403, "no-consent")
        assert "amlodipine" not in refused.text
        assert (await ledger_entries(mesh))[body["ledger_index"]]["kind"] == "access.refused"

        artefact, citizen = await consent_for_the_pharmacy(mesh)
        read = await pod.get(
            rx, headers=pharmacy(mesh, **{"Consent-Purpose": PURPOSE, "Consent-Receipt": artefact["receipt"]})
        )
        assert read.status_code == 200 and "amlodipine" in read.text
        logged = (await ledger_entries(mesh))[int(read.headers["consent-ledger-index"])]
        assert logged["kind"] == "access.permitted" and logged["recipient"] == "prescriptions"
        assert logged["category"] == "pd:Prescription" and logged["resource"].endswith("/prescriptions/rx-1.ttl")

        async with mesh.client("consent") as consent:
            withdrawn = await consent.post(
                f"/me/artefacts/{artefact['id']}/status",
                json={"status": "withdrawn"},
                headers={"Authorization": f"Bearer {citizen}"},
            )
            assert withdrawn.status_code == 200
        after = await pod.get(rx, headers=pharmacy(mesh, **{"Consent-Purpose": PURPOSE}))
        assert_problem(after, 403, "no-consent")
        assert (await ledger_entries(mesh))[-1]["kind"] == "access.refused"


async def test_what_a_department_cannot_do_with_a_consent(mesh):
    owner, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(owner), mesh.client("pod") as pod:
        await owner.put(f"{root}prescriptions/rx-1.ttl", content=PRESCRIPTION, headers={"Content-Type": "text/turtle"})
        await owner.put(f"{root}diary/today.ttl", content=PRESCRIPTION, headers={"Content-Type": "text/turtle"})
        await consent_for_the_pharmacy(mesh)
        assert_problem(await pod.get(f"{root}prescriptions/rx-1.ttl", headers=pharmacy(mesh)), 400, "purpose-missing")
        assert_problem(
            await pod.get(f"{root}diary/today.ttl", headers=pharmacy(mesh, **{"Consent-Purpose": PURPOSE})),
            403,
            "forbidden",
        )
        assert_problem(
            await pod.put(
                f"{root}prescriptions/rx-1.ttl",
                content=PRESCRIPTION,
                headers=pharmacy(mesh, **{"Content-Type": "text/turtle"}),
            ),
            403,
        )
        other = await pod.get(
            f"{root}prescriptions/rx-1.ttl", headers=pharmacy(mesh, **{"Consent-Purpose": "dpv:DirectMarketing"})
        )
        assert_problem(other, 403, "no-consent")
        forged = await pod.get(
            f"{root}prescriptions/rx-1.ttl",
            headers=pharmacy(mesh, **{"Consent-Purpose": PURPOSE, "Consent-Receipt": "eyJ.forged.x"}),
        )
        assert_problem(forged, 422)
        # a service without the permission is refused outright
        fines = mint(mesh, client="gateway", scope="pod:read", audience="urn:citygate:pod")
        assert_problem(
            await pod.get(
                f"{root}prescriptions/rx-1.ttl",
                headers={"Authorization": f"Bearer {fines}", "Consent-Purpose": PURPOSE},
            ),
            403,
            "forbidden-caller",
        )
        # with the consent service unreachable nothing is released
        mesh.stop("consent")
        down = await pod.get(f"{root}prescriptions/rx-1.ttl", headers=pharmacy(mesh, **{"Consent-Purpose": PURPOSE}))
        assert_problem(down, 503, "consent-unavailable")
        assert "amlodipine" not in down.text
