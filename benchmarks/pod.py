#!/usr/bin/env python3
"""GET and PUT of a small Turtle resource in a citizen's pod, access control on.

The rights regime runs in this process (the test suite's mesh: real apps, databases, tokens and
ACL evaluation; the network replaced by ASGI calls). Every request carries the citizen's own-app
token and is checked against the pod's ACLs (the resource inherits the root's acl:default). Rows
at 1 and 8 concurrent clients; the baseline is the pod's GET /healthz in the same run.

    python benchmarks/pod.py [--requests 1000] [--concurrency 1 8] [--postgres]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.in_process import run_benchmark
from kernel.personas import DEMO_PASSWORD
from tests.fixtures.mesh import Mesh
from workshop.citizen_app import citizen_token

TURTLE = '@prefix ex: <http://example.org/> .\n<#it> ex:says "hello" ; ex:count 1 .\n'


async def rows(mesh: Mesh) -> dict:
    async with mesh.client("identity") as identity:
        token = (
            await citizen_token(identity, username="wang-fang", password=DEMO_PASSWORD, resource_service="pod")
        ).access_token
    auth = {"Authorization": f"Bearer {token}"}
    async with mesh.client("pod") as pod:
        root = (await pod.post("/pods", headers=auth)).json()["storage"].removeprefix(mesh.urls["pod"])
        put = await pod.put(f"{root}bench/note.ttl", content=TURTLE, headers=auth | {"Content-Type": "text/turtle"})
        put.raise_for_status()
    path = f"{root}bench/note.ttl"
    return {
        "GET small Turtle (ACL checked)": lambda c: c.get(path, headers=auth),
        "PUT small Turtle (ACL checked)": lambda c: c.put(
            path, content=TURTLE, headers=auth | {"Content-Type": "text/turtle"}
        ),
    }


def main() -> int:
    return run_benchmark(__doc__, rows, service="pod", default_requests=1000, ok=(200, 205))


if __name__ == "__main__":
    sys.exit(main())
