#!/usr/bin/env python3
"""How fast the consent service answers "may this holder release this now?", the call on every read.

All rights-regime services run in this process (the test suite's in-process mesh: real apps, real
databases, real tokens; only the network is replaced by ASGI calls), so every row below is the same
process doing the same client work, and the ratios compare like with like:

    baseline        GET /healthz on the consent service (database ping, no token)
    tree head       GET /ledger/tree-head (root from stored nodes + an ES256 signature)
    decision        POST /decisions (the real thing: the access is appended to the ledger first)
    with receipt    POST /decisions presenting the signed receipt (adds a signature check)

    python benchmarks/consent_decisions.py [--requests 2000] [--concurrency 1 8] [--postgres]
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.in_process import run_benchmark
from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.state import ServiceState, state_of
from tests.fixtures.mesh import Mesh
from workshop.citizen_app import citizen_token

PATIENT = by_handle("wang-fang")


def state(mesh: Mesh, service: str) -> ServiceState[Any]:
    return state_of(mesh.apps[service], ServiceState)


async def service_token(mesh: Mesh, client: str, callee: str) -> str:
    return await state(mesh, client).services.tokens.token_for(callee)


async def pod_subject(mesh: Mesh) -> str:
    """The patient as the pod knows her: the subject of her app's token for the pod, as the pod reads it."""
    async with mesh.client("identity") as identity:
        tokens = await citizen_token(identity, username=PATIENT.handle, password=DEMO_PASSWORD, resource_service="pod")
    claims = await state(mesh, "pod").token_verifier.verify(tokens.access_token)
    return str(claims["sub"])


async def given_consent(mesh: Mesh) -> dict:
    subject = await state(mesh, "prescriptions").services.sector_subject(PATIENT.resident_id)
    async with mesh.client("consent") as consent:
        request = await consent.post(
            "/consent-requests",
            headers={"Authorization": f"Bearer {await service_token(mesh, 'prescriptions', 'consent')}"},
            json={
                "subject": subject,
                "purposes": ["dpv:ServiceProvision"],
                "categories": ["pd:Prescription"],
                "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            },
        )
        request.raise_for_status()
    async with mesh.client("identity") as identity:
        tokens = await citizen_token(
            identity, username=PATIENT.handle, password=DEMO_PASSWORD, resource_service="consent"
        )
    async with mesh.client("consent") as consent:
        given = await consent.post(
            f"/me/artefacts/{request.json()['id']}/status",
            json={"status": "given"},
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        given.raise_for_status()
    return given.json()


async def rows(mesh: Mesh) -> dict:
    artefact = await given_consent(mesh)
    holder = {"Authorization": f"Bearer {await service_token(mesh, 'pod', 'consent')}"}
    question = {
        "subject": await pod_subject(mesh),
        "recipient": "prescriptions",
        "category": "pd:Prescription",
        "purpose": "dpv:ServiceProvision",
        "resource": "/prescriptions/1",
    }
    return {
        "GET /ledger/tree-head": lambda c: c.get("/ledger/tree-head"),
        "decision (logged)": lambda c: c.post("/decisions", headers=holder, json=question),
        "decision + receipt (logged)": lambda c: c.post(
            "/decisions", headers=holder, json=question | {"artefact": artefact["receipt"]}
        ),
    }


def main() -> int:
    return run_benchmark(__doc__, rows, service="consent", default_requests=2000)


if __name__ == "__main__":
    sys.exit(main())
