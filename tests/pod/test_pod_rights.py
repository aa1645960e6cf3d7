"""The citizen takes their whole pod with them, or erases it; the ledger keeps only that it happened."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from contextlib import aclosing

from sqlmodel import select

from consent.dependencies import ConsentState
from kernel.state import state_of
from pod.dependencies import PodState
from pod.models import StoredResource
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.pod_clients import NOTE, app_for, own_pod
from tests.fixtures.problems import assert_problem

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS]

PDF = b"%PDF-1.7\n\x00\xffbinary"


def stored_paths(mesh, pod_prefix: str) -> list[str]:
    with state_of(mesh.apps["pod"], PodState).database.session() as session:
        return [row.path for row in session.exec(select(StoredResource)) if row.path.startswith(pod_prefix)]


async def test_export_is_the_whole_pod_in_one_archive(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        await client.put(f"{root}notes/a.ttl", content=NOTE, headers={"Content-Type": "text/turtle"})
        await client.put(f"{root}docs/scan.pdf", content=PDF, headers={"Content-Type": "application/pdf"})
        exported = await client.get("/me/pod/export")
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    manifest = json.loads(archive.read("manifest.json"))
    paths = {entry["path"] for entry in manifest["resources"]}
    assert {
        "./",
        ".acl",
        "profile/",
        "profile/card",
        "profile/card.acl",
        "notes/",
        "notes/a.ttl",
        "docs/",
        "docs/scan.pdf",
    } == paths
    assert archive.read("pod/docs/scan.pdf") == PDF
    assert "hello" in archive.read("pod/notes/a.ttl").decode()
    assert manifest["storage"] == mesh.urls["pod"] + root


async def test_erasure_removes_every_byte_and_the_ledger_keeps_only_that_it_happened(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    other, other_root, _ = await own_pod(mesh, "li-wei")
    async with aclosing(client), aclosing(other):
        await client.put(f"{root}notes/a.ttl", content=NOTE, headers={"Content-Type": "text/turtle"})
        erased = await client.delete("/me/pod")
        assert erased.status_code == 200, erased.text
        assert erased.json()["erased_resources"] == 7
        assert stored_paths(mesh, root) == []
        assert stored_paths(mesh, other_root)  # nobody else's pod is touched
        assert_problem(await client.get(f"{root}notes/a.ttl"), 404)
        assert_problem(await client.get("/me/pod/export"), 404, "no-pod")
        assert_problem(await client.delete("/me/pod"), 404, "no-pod")
        assert (await client.post("/pods")).status_code == 201  # a fresh, empty pod may be made again
    async with mesh.client("consent") as consent:
        size = (await consent.get("/ledger/tree-head")).json()["tree_size"]
        rows = (await consent.get("/ledger/entries", params={"start": 0, "end": size})).json()["entries"]
    # the event, as the consent service keeps it (the public leaf is only a commitment to it)
    [logged] = state_of(mesh.apps["consent"], ConsentState).consent_book.ledger.entries(
        erased.json()["ledger_index"], erased.json()["ledger_index"] + 1
    )
    assert logged.clear is not None
    entry = json.loads(logged.clear)
    assert entry["kind"] == "erasure" and entry["holder"] == "pod" and entry["subject"] == root.split("/")[2]
    assert b"hello" not in b"".join(base64.b64decode(row["entry"]) for row in rows)
    assert b"hello" not in b"".join(
        row.clear or b"" for row in state_of(mesh.apps["consent"], ConsentState).consent_book.ledger.entries(0, size)
    )


async def test_without_the_ledger_nothing_is_erased(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        mesh.stop("consent")
        assert_problem(await client.delete("/me/pod"), 503, "consent-unavailable")
        assert (await client.get(root)).status_code == 200


async def test_the_rights_need_the_citizens_own_token(mesh):
    async with mesh.client("pod") as anonymous:
        assert_problem(await anonymous.get("/me/pod/export"), 401)
        assert_problem(await anonymous.delete("/me/pod"), 401)
    async with aclosing(await app_for(mesh, "liu-yang")) as without_pod:
        assert_problem(await without_pod.get("/me/pod/export"), 404, "no-pod")
