"""Every write to a pod is atomic against concurrent writers, on SQLite and PostgreSQL: no lost
PATCH, exactly one create-only PUT wins (the rest 412), shared parent containers are created once,
and no race ends in a 500.

The requests really run at once: the pod's routes run in a thread pool, so ``asyncio.gather`` of
in-process requests interleaves them; one test drives the domain function from threads directly.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import aclosing

import pytest
from rdflib import Literal, URIRef

from kernel.problems import Problem
from kernel.state import state_of
from pod import store
from pod.dependencies import PodState
from pod.paths import pod_of
from pod.protocol import handle
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.pod_clients import NOTE, app_for, graph_of, own_pod

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS]

WRITERS = 10
TURTLE = {"Content-Type": "text/turtle"}
TAG = URIRef("http://example.org/tag")


def n3_insert(number: int) -> str:
    return (
        "@prefix solid: <http://www.w3.org/ns/solid/terms#>. @prefix ex: <http://example.org/>.\n"
        f'_:r a solid:InsertDeletePatch; solid:inserts {{ <#it> ex:tag "{number}" }}.'
    )


async def test_concurrent_patches_all_keep_their_triples(mesh, backend):
    client, root, _ = await own_pod(mesh, "wang-fang")
    path, url = f"{root}tags.ttl", mesh.urls["pod"] + f"{root}tags.ttl"
    async with aclosing(client):
        await client.put(path, content=NOTE, headers=TURTLE)
        patches = await asyncio.gather(
            *(client.patch(path, content=n3_insert(n), headers={"Content-Type": "text/n3"}) for n in range(WRITERS))
        )
        assert [p.status_code for p in patches] == [205] * WRITERS, [p.text for p in patches]
        graph = graph_of(await client.get(path), url)
        assert {str(tag) for tag in graph.objects(URIRef(url + "#it"), TAG)} == {str(n) for n in range(WRITERS)}


async def test_patches_creating_one_resource_at_once_all_keep_their_triples(mesh, backend):
    client, root, _ = await own_pod(mesh, "wang-fang")
    path, url = f"{root}new/tags.ttl", mesh.urls["pod"] + f"{root}new/tags.ttl"
    async with aclosing(client):
        patches = await asyncio.gather(
            *(client.patch(path, content=n3_insert(n), headers={"Content-Type": "text/n3"}) for n in range(WRITERS))
        )
        statuses = sorted(p.status_code for p in patches)
        assert statuses == [201] + [205] * (WRITERS - 1), [p.text for p in patches]
        graph = graph_of(await client.get(path), url)
        assert len(set(graph.objects(URIRef(url + "#it"), TAG))) == WRITERS


async def test_exactly_one_create_only_put_wins(mesh, backend):
    client, root, _ = await own_pod(mesh, "wang-fang")
    path = f"{root}claims/one.txt"  # its container is created by the race too
    async with aclosing(client):
        puts = await asyncio.gather(
            *(
                client.put(path, content=f"writer {n}", headers={"Content-Type": "text/plain", "If-None-Match": "*"})
                for n in range(WRITERS)
            )
        )
        statuses = [p.status_code for p in puts]
        assert sorted(statuses) == [201] + [412] * (WRITERS - 1), [p.text for p in puts]
        winner = statuses.index(201)
        assert (await client.get(path)).text == f"writer {winner}"


async def test_puts_sharing_new_parent_containers_all_succeed(mesh, backend):
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        puts = await asyncio.gather(
            *(client.put(f"{root}a/b/c/{n}.ttl", content=NOTE, headers=TURTLE) for n in range(WRITERS))
        )
        assert [p.status_code for p in puts] == [201] * WRITERS, [p.text for p in puts]
        listing = await client.get(f"{root}a/b/c/")
        url = mesh.urls["pod"] + f"{root}a/b/c/"
        members = set(graph_of(listing, url).objects(URIRef(url), URIRef("http://www.w3.org/ns/ldp#contains")))
        assert members == {URIRef(f"{url}{n}.ttl") for n in range(WRITERS)}


async def test_posts_with_one_slug_at_once_create_distinct_members(mesh, backend):
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        posts = await asyncio.gather(
            *(client.post(root, content=NOTE, headers={**TURTLE, "Slug": "same"}) for _ in range(WRITERS))
        )
        assert [p.status_code for p in posts] == [201] * WRITERS, [p.text for p in posts]
        assert len({p.headers["location"] for p in posts}) == WRITERS


async def test_a_delete_racing_a_put_into_the_container_leaves_no_orphan(mesh, backend):
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        for attempt in range(4):
            container = f"{root}race{attempt}/"
            await client.put(container, headers=TURTLE)
            deleted, put = await asyncio.gather(
                client.delete(container), client.put(f"{container}x.ttl", content=NOTE, headers=TURTLE)
            )
            assert deleted.status_code in (204, 409) and put.status_code in (201, 404), (deleted.text, put.text)
            member = await client.get(f"{container}x.ttl")
            if member.status_code == 200:
                assert (await client.get(container)).status_code == 200, "a member without its container"


async def test_pods_created_at_once_are_created_once(mesh, backend):
    client = await app_for(mesh, "li-wei")
    async with aclosing(client):
        created = await asyncio.gather(*(client.post("/pods") for _ in range(5)))
        assert sorted(c.status_code for c in created) == [200, 200, 200, 200, 201], [c.text for c in created]


async def test_threads_patching_through_the_domain_function_lose_nothing(mesh, backend):
    client, root, webid = await own_pod(mesh, "wang-fang")
    path, url = f"{root}threads.ttl", mesh.urls["pod"] + f"{root}threads.ttl"
    async with aclosing(client):
        await client.put(path, content=NOTE, headers=TURTLE)
    state, start = state_of(mesh.apps["pod"], PodState), threading.Barrier(WRITERS)
    outcomes: list[int | Problem] = []

    def patch(number: int) -> None:
        start.wait()
        try:
            outcomes.append(
                handle(state, "PATCH", path, webid, {"content-type": "text/n3"}, n3_insert(number).encode()).status_code
            )
        except Problem as problem:
            outcomes.append(problem)

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [205] * WRITERS
    async with aclosing(await app_for(mesh, "wang-fang")) as reader:
        graph = graph_of(await reader.get(path), url)
    assert set(graph.objects(URIRef(url + "#it"), TAG)) == {Literal(str(n)) for n in range(WRITERS)}


async def test_a_writer_waits_for_the_lock_a_bounded_time_then_gets_503(mesh, backend):
    client, root, _ = await own_pod(mesh, "wang-fang")
    await client.aclose()
    database, pod_id = state_of(mesh.apps["pod"], PodState).database, pod_of(root)
    with database.session() as holder:
        store.lock_pod(holder, pod_id)
        with database.session() as waiter, pytest.raises(Problem) as busy:
            store.lock_pod(waiter, pod_id, wait_ms=100)
        assert busy.value.status == 503 and busy.value.type.endswith(":pod-busy")
        assert busy.value.headers == {"Retry-After": "1"}
    with database.session() as next_writer:  # released with the holder's transaction
        store.lock_pod(next_writer, pod_id, wait_ms=100)
