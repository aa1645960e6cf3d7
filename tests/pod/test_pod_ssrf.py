"""Parsing what a client writes never makes the pod fetch anything (H1): no remote or file JSON-LD
context, no ``@import``, no SPARQL ``LOAD``; and a parser's own error text never reaches the client.

A listener on 127.0.0.1 stands for an internal service: every case asserts it saw no connection.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import dataclass, field

import pytest
from rdflib import Graph

from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.pod_clients import own_pod
from tests.fixtures.problems import assert_problem

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS]

JSON_LD = {"Content-Type": "application/ld+json"}
TURTLE = {"Content-Type": "text/turtle"}
A_CONTEXT = json.dumps({"@context": {"ex": "http://example.org/"}}).encode()


@dataclass
class Listener:
    """An HTTP server that answers every request with a valid JSON-LD context and counts connections."""

    url: str
    connections: list[bytes] = field(default_factory=list)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    host, port = server.getsockname()
    found = Listener(f"http://{host}:{port}")
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    found.connections.append(connection.recv(4096))
                except OSError:
                    found.connections.append(b"")
                connection.sendall(
                    b"HTTP/1.0 200 OK\r\nContent-Type: application/ld+json\r\nContent-Length: "
                    + str(len(A_CONTEXT)).encode()
                    + b"\r\n\r\n"
                    + A_CONTEXT
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield found
    stopping.set()
    thread.join(timeout=2)
    server.close()


def remote_context_documents(remote: str, file_url: str) -> dict[str, object]:
    """Every place a JSON-LD document can name a context to be fetched."""
    node = {"@id": "#a", "ex:says": "hi"}
    inline = {"ex": "http://example.org/"}
    return {
        "top-level": {"@context": remote, **node},
        "in a list": {"@context": [inline, remote], **node},
        "nested object": {"@context": inline, "@id": "#a", "ex:knows": {"@context": remote, "@id": "#b"}},
        "nested array": {"@context": inline, "@graph": [{"@id": "#a", "ex:knows": [{"@context": [remote]}]}]},
        "scoped term context": {
            "@context": {**inline, "knows": {"@id": "ex:knows", "@context": remote}},
            "@id": "#a",
            "knows": {"@id": "#b"},
        },
        "@import": {"@context": {"@version": 1.1, "@import": remote}, **node},
        "after a null context": {
            "@context": inline,
            "@id": "#a",
            "ex:knows": {"@context": None, "ex:x": {"@context": remote, "@id": "#b"}},
        },
        "file": {"@context": file_url, **node},
        "relative": {"@context": "context.jsonld", **node},
    }


async def test_no_json_ld_context_is_ever_fetched(mesh, listener, tmp_path):
    secret = tmp_path / "secret.jsonld"
    secret.write_text(json.dumps({"@context": {"ex": "http://example.org/", "leak": "urn:secret:TOP-SECRET"}}))
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        documents = remote_context_documents(f"{listener.url}/context.jsonld", secret.as_uri())
        for name, document in documents.items():
            refused = await client.put(f"{root}doc.jsonld", content=json.dumps(document), headers=JSON_LD)
            body = assert_problem(refused, 422, "remote-context-refused")
            assert "TOP-SECRET" not in refused.text, name
            assert listener.connections == [], name
            assert body["detail"]
        # what goes into a container's description, or a new member by POST, is checked the same way
        document = json.dumps(documents["nested array"])
        assert_problem(await client.put(f"{root}box/", content=document, headers=JSON_LD), 422)
        assert_problem(await client.post(root, content=document, headers=JSON_LD), 422)
        assert listener.connections == []
        assert_problem(await client.get(f"{root}doc.jsonld"), 404)
        # an inline context is what a client sends instead, and it works
        inline = {"@context": {"ex": "http://example.org/"}, "@id": "#a", "ex:says": "hi"}
        assert (await client.put(f"{root}doc.jsonld", content=json.dumps(inline), headers=JSON_LD)).status_code == 201
        assert '"hi"' in (await client.get(f"{root}doc.jsonld")).text


async def test_turtle_acls_and_patches_naming_a_host_fetch_nothing(mesh, listener):
    client, root, webid = await own_pod(mesh, "wang-fang")
    url = listener.url
    async with aclosing(client):
        turtle = f"@base <{url}/> .\n@prefix l: <{url}/vocab#> .\n<a> l:p <b> ; l:see <{url}/other> .\n"
        assert (await client.put(f"{root}t.ttl", content=turtle, headers=TURTLE)).status_code == 201
        acl = (
            "@prefix acl: <http://www.w3.org/ns/auth/acl#>.\n"
            f"<#o> a acl:Authorization; acl:agent <{webid}>; acl:agentGroup <{url}/group>; "
            f"acl:origin <{url}>; acl:accessTo <./t.ttl>; acl:mode acl:Read, acl:Write, acl:Control.\n"
        )
        assert (await client.put(f"{root}t.ttl.acl", content=acl, headers=TURTLE)).status_code == 201
        n3 = (
            f"@prefix solid: <http://www.w3.org/ns/solid/terms#>. @prefix l: <{url}/vocab#>.\n"
            f"_:r a solid:InsertDeletePatch; solid:where {{ ?s l:p <{url}/b> }}; solid:inserts {{ ?s l:q 1 }}."
        )
        assert (await client.patch(f"{root}t.ttl", content=n3, headers={"Content-Type": "text/n3"})).status_code == 205
        sparql = {"Content-Type": "application/sparql-update"}
        for update in (
            f"LOAD <{url}/data.ttl>",
            f"LOAD <{url}/data.ttl> INTO GRAPH <{url}/g>",
            f"INSERT {{ <a> <b> ?o }} WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}",
            f"INSERT DATA {{ <a> <b> <c> }} ; LOAD <{url}/data.ttl>",
        ):
            assert_problem(await client.patch(f"{root}t.ttl", content=update, headers=sparql), 422)
        assert listener.connections == []


async def test_parser_error_text_is_not_echoed(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        cases = [
            ("bad.ttl", "<a> <b> SECRET-TOKEN-1 .", TURTLE),
            ("bad2.jsonld", '{"@id": SECRET-TOKEN-3}', JSON_LD),
            ("bad.ttl.acl", "@prefix acl: SECRET-TOKEN-4 .", TURTLE),
        ]
        for name, body, headers in cases:
            refused = await client.put(f"{root}{name}", content=body, headers=headers)
            assert refused.status_code == 400, refused.text
            assert "SECRET-TOKEN" not in refused.text and "line" not in refused.json()["detail"].lower()
        for body, media in (
            ("@prefix x: SECRET-TOKEN-5 .", "text/n3"),
            ("INSERT DATA { SECRET-TOKEN-6 }", "application/sparql-update"),
        ):
            refused = await client.patch(f"{root}x.ttl", content=body, headers={"Content-Type": media})
            assert_problem(refused, 400, "invalid-patch")
            assert "SECRET-TOKEN" not in refused.text


def test_rdflib_itself_cannot_fetch_a_context_while_the_pod_parses(listener):
    """The guard beneath the document check: even a context that check missed is never fetched."""
    from pod.rdf import RemoteDocumentRefused, remote_documents_refused  # (here: absent before the fix)

    document = json.dumps({"@context": f"{listener.url}/c", "@id": "http://example.org/a", "ex:p": "v"})
    with remote_documents_refused(), pytest.raises(RemoteDocumentRefused):
        Graph().parse(data=document, format="json-ld")
    nested = json.dumps(
        {
            "@id": "http://example.org/a",
            "http://example.org/p": {
                "@context": None,
                "http://example.org/q": {"@context": [f"{listener.url}/d"], "@id": "http://example.org/b"},
            },
        }
    )
    with remote_documents_refused(), pytest.raises(RemoteDocumentRefused):
        Graph().parse(data=nested, format="json-ld")
    assert listener.connections == []
