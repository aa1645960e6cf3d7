"""A citizen's app talking to their own pod, for the pod's test modules."""

from __future__ import annotations

import httpx
from rdflib import Graph

from identity.personas import DEMO_PASSWORD
from tests.mesh import Mesh
from workshop.citizen_app import citizen_token

NOTE = '@prefix ex: <http://example.org/> .\n<#it> ex:says "hello" ; ex:count 1 .\n'


async def app_for(mesh: Mesh, handle: str) -> httpx.AsyncClient:
    async with mesh.client("identity") as identity:
        tokens = await citizen_token(identity, username=handle, password=DEMO_PASSWORD, resource_service="pod")
    client = mesh.client("pod")
    client.headers["Authorization"] = f"Bearer {tokens.access_token}"
    return client


async def own_pod(mesh: Mesh, handle: str) -> tuple[httpx.AsyncClient, str, str]:
    """The citizen's app, their pod's root path and their WebID."""
    client = await app_for(mesh, handle)
    created = await client.post("/pods")
    assert created.status_code in (200, 201), created.text
    storage = created.json()["storage"]
    return client, storage.removeprefix(mesh.urls["pod"]), created.json()["webid"]


def graph_of(response: httpx.Response, base: str) -> Graph:
    media = response.headers["content-type"].split(";")[0]
    return Graph().parse(
        data=response.text, format="json-ld" if media == "application/ld+json" else "turtle", publicID=base
    )
