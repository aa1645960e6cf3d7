"""The pod speaks the Solid Protocol: LDP resources and containers, content negotiation, conditional
requests, PATCH, Web Access Control and CORS — with the exact statuses and headers clients rely on."""

from __future__ import annotations

import json
from contextlib import aclosing

from rdflib import URIRef
from rdflib.namespace import FOAF, RDF

from kernel.state import state_of
from pod.dependencies import PodState
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.pod_clients import NOTE, graph_of, own_pod
from tests.fixtures.problems import assert_problem

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS]

LDP = "http://www.w3.org/ns/ldp#"


async def test_a_pod_is_created_once_with_a_public_webid_profile(mesh):
    client, root, webid = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        again = await client.post("/pods")
        assert again.status_code == 200 and again.json()["webid"] == webid
        assert webid == f"{mesh.urls['pod']}{root}profile/card#me"
    async with mesh.client("pod") as anonymous:
        card = await anonymous.get(f"{root}profile/card")
        assert card.status_code == 200 and card.headers["content-type"].startswith("text/turtle")
        assert (URIRef(webid), RDF.type, FOAF.Person) in graph_of(card, mesh.urls["pod"] + root + "profile/card")
        assert 'public="read"' in card.headers["wac-allow"]
        private = await anonymous.get(root)
        assert_problem(private, 401, "unauthenticated")
        assert "WWW-Authenticate" in private.headers


async def test_resources_and_containers_with_the_headers_clients_rely_on(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    base = mesh.urls["pod"]
    async with aclosing(client):
        put = await client.put(f"{root}notes/2026/hello.ttl", content=NOTE, headers={"Content-Type": "text/turtle"})
        assert put.status_code == 201 and put.headers["location"] == f"{base}{root}notes/2026/hello.ttl"
        got = await client.get(f"{root}notes/2026/hello.ttl")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/turtle")
        assert got.headers["etag"] and got.headers["last-modified"]
        assert f'<{LDP}Resource>; rel="type"' in got.headers["link"]
        assert f'<{base}{root}notes/2026/hello.ttl.acl>; rel="acl"' in got.headers["link"]
        assert set(got.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}
        assert got.headers["accept-patch"] == "text/n3, application/sparql-update"
        assert got.headers["wac-allow"] == 'user="read write append control", public=""'
        as_json_ld = await client.get(f"{root}notes/2026/hello.ttl", headers={"Accept": "application/ld+json"})
        assert as_json_ld.headers["content-type"].startswith("application/ld+json")
        assert graph_of(as_json_ld, f"{base}{root}notes/2026/hello.ttl").isomorphic(
            graph_of(got, f"{base}{root}notes/2026/hello.ttl")
        )
        assert_problem(await client.get(f"{root}notes/2026/hello.ttl", headers={"Accept": "image/png"}), 406)
        head = await client.head(f"{root}notes/2026/hello.ttl")
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == got.headers["etag"]

        # the parents were created, and list their members
        listing = await client.get(f"{root}notes/")
        assert f'<{LDP}BasicContainer>; rel="type"' in listing.headers["link"]
        assert "POST" in listing.headers["allow"] and listing.headers["accept-post"] == "*/*"
        members = set(
            graph_of(listing, f"{base}{root}notes/").objects(URIRef(f"{base}{root}notes/"), URIRef(LDP + "contains"))
        )
        assert members == {URIRef(f"{base}{root}notes/2026/")}
        storage = await client.get(root)
        assert '<http://www.w3.org/ns/pim/space#Storage>; rel="type"' in storage.headers["link"]

        # other media byte for byte
        pdf = b"%PDF-1.7\n\x00\x01binary\xff"
        assert (
            await client.put(f"{root}docs/a.pdf", content=pdf, headers={"Content-Type": "application/pdf"})
        ).status_code == 201
        back = await client.get(f"{root}docs/a.pdf")
        assert back.content == pdf and back.headers["content-type"] == "application/pdf"

        # POST with a Slug, and a new container by Link
        posted = await client.post(
            f"{root}notes/",
            content=json.dumps({"a": 1}),
            headers={"Content-Type": "application/json", "Slug": "my note"},
        )
        assert posted.status_code == 201 and posted.headers["location"] == f"{base}{root}notes/my-note"
        folder = await client.post(
            f"{root}notes/", headers={"Slug": "drafts", "Link": f'<{LDP}BasicContainer>; rel="type"'}
        )
        assert folder.headers["location"] == f"{base}{root}notes/drafts/"
        assert_problem(
            await client.post(f"{root}notes/my-note", content=b"x", headers={"Content-Type": "text/plain"}), 405
        )

        # deleting
        assert_problem(await client.delete(f"{root}notes/2026/"), 409, "container-not-empty")
        assert (await client.delete(f"{root}notes/2026/hello.ttl")).status_code == 204
        assert_problem(await client.get(f"{root}notes/2026/hello.ttl"), 404)
        assert (await client.delete(f"{root}notes/2026/")).status_code == 204
        options = await client.options(f"{root}notes/")
        assert options.status_code == 204 and "POST" in options.headers["allow"]


async def test_conditional_requests(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    path = f"{root}c.ttl"
    async with aclosing(client):
        turtle = {"Content-Type": "text/turtle"}
        assert (await client.put(path, content=NOTE, headers=turtle | {"If-None-Match": "*"})).status_code == 201
        assert_problem(await client.put(path, content=NOTE, headers=turtle | {"If-None-Match": "*"}), 412)
        etag = (await client.get(path)).headers["etag"]
        assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 304
        assert_problem(await client.put(path, content=NOTE, headers=turtle | {"If-Match": '"stale"'}), 412)
        assert (
            await client.put(path, content=NOTE + "<#b> <#c> <#d> .", headers=turtle | {"If-Match": etag})
        ).status_code == 205
        assert (await client.get(path)).headers["etag"] != etag


async def test_patch_with_n3_and_sparql_update(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    path, base = f"{root}p.ttl", mesh.urls["pod"]
    n3 = (
        "@prefix solid: <http://www.w3.org/ns/solid/terms#>. @prefix ex: <http://example.org/>.\n"
        "_:r a solid:InsertDeletePatch; solid:where { ?s ex:count 1 }; "
        "solid:deletes { ?s ex:count 1 }; solid:inserts { ?s ex:count 2 }."
    )
    async with aclosing(client):
        await client.put(path, content=NOTE, headers={"Content-Type": "text/turtle"})
        patched = await client.patch(path, content=n3, headers={"Content-Type": "text/n3"})
        assert patched.status_code == 205, patched.text
        assert "ex:count 2" in (await client.get(path)).text
        assert_problem(await client.patch(path, content=n3, headers={"Content-Type": "text/n3"}), 409)
        sparql = 'INSERT DATA { <#it> <http://example.org/tag> "new" }'
        assert (
            await client.patch(path, content=sparql, headers={"Content-Type": "application/sparql-update"})
        ).status_code == 205
        assert '"new"' in (await client.get(path)).text
        assert_problem(
            await client.patch(path, content="INSERT DATA {", headers={"Content-Type": "application/sparql-update"}),
            400,
        )
        assert_problem(await client.patch(path, content="x", headers={"Content-Type": "text/plain"}), 415)
        created = await client.patch(
            f"{root}new.ttl", content=sparql, headers={"Content-Type": "application/sparql-update"}
        )
        assert created.status_code == 201
        assert (URIRef(f"{base}{root}new.ttl#it"), URIRef("http://example.org/tag"), None) in graph_of(
            await client.get(f"{root}new.ttl"), f"{base}{root}new.ttl"
        )


async def test_bad_requests_are_refused_before_anything_is_written(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    turtle = {"Content-Type": "text/turtle"}
    async with aclosing(client):
        # (a literal "/../" never leaves the client: httpx, like browsers, resolves it first)
        for path in (
            f"{root}a/%2e%2e/b.ttl",
            f"{root}a/%2E/b.ttl",
            f"{root}a%2Fb.ttl",
            f"{root}a//b.ttl",
            f"{root}a%5Cb",
        ):
            assert_problem(await client.put(path, content=NOTE, headers=turtle), 400, "invalid-path")
        assert_problem(await client.put(f"{root}x", content=b"x"), 400, "content-type-missing")
        assert_problem(await client.put(f"{root}bad.ttl", content="<a> <b> .", headers=turtle), 400, "invalid-rdf")
        await client.put(f"{root}x", content=b"x", headers={"Content-Type": "text/plain"})
        assert_problem(await client.put(f"{root}x/", headers=turtle), 409, "path-conflict")
        assert_problem(await client.put(f"{root}x/y.ttl", content=NOTE, headers=turtle), 409, "path-conflict")
        big = b"x" * (state_of(mesh.apps["pod"], PodState).settings.max_body_bytes + 1)
        assert (await client.put(f"{root}big", content=big, headers={"Content-Type": "text/plain"})).status_code == 413
        assert_problem(await client.get(f"{root}bad.ttl"), 404)
        assert_problem(await client.get(f"{root}x/"), 404)


async def test_access_control_decides_who_reads_and_writes(mesh):
    owner, root, owner_webid = await own_pod(mesh, "wang-fang")
    other, other_root, other_webid = await own_pod(mesh, "li-wei")
    base = mesh.urls["pod"]
    async with aclosing(owner), aclosing(other):
        await owner.put(f"{root}private/secret.ttl", content=NOTE, headers={"Content-Type": "text/turtle"})
        await owner.put(f"{root}shared/note.ttl", content=NOTE, headers={"Content-Type": "text/turtle"})
        assert_problem(await other.get(f"{root}private/secret.ttl"), 403, "forbidden")
        assert_problem(
            await other.put(f"{root}private/x.ttl", content=NOTE, headers={"Content-Type": "text/turtle"}), 403
        )
        acl = (
            "@prefix acl: <http://www.w3.org/ns/auth/acl#>. @prefix foaf: <http://xmlns.com/foaf/0.1/>.\n"
            f"<#owner> a acl:Authorization; acl:agent <{owner_webid}>; acl:accessTo <./>; acl:default <./>;"
            " acl:mode acl:Read, acl:Write, acl:Control.\n"
            "<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.\n"
            f"<#friend> a acl:Authorization; acl:agent <{other_webid}>; acl:default <./>; acl:mode acl:Append.\n"
        )
        assert_problem(await other.put(f"{root}shared/.acl", content=acl, headers={"Content-Type": "text/turtle"}), 403)
        assert (
            await owner.put(f"{root}shared/.acl", content=acl, headers={"Content-Type": "text/turtle"})
        ).status_code == 201
        async with mesh.client("pod") as anonymous:
            public = await anonymous.get(f"{root}shared/note.ttl")
            assert public.status_code == 200 and public.headers["wac-allow"] == 'user="read", public="read"'
            assert_problem(
                await anonymous.put(f"{root}shared/note.ttl", content=NOTE, headers={"Content-Type": "text/turtle"}),
                401,
            )
        # append-only: the friend may add (an insert-only patch, a POST) but not replace or delete
        insert = 'INSERT DATA { <#it> <http://example.org/seenBy> "li-wei" }'
        assert (
            await other.patch(
                f"{root}shared/note.ttl", content=insert, headers={"Content-Type": "application/sparql-update"}
            )
        ).status_code == 205
        assert_problem(
            await other.put(f"{root}shared/note.ttl", content=NOTE, headers={"Content-Type": "text/turtle"}), 403
        )
        assert_problem(await other.delete(f"{root}shared/note.ttl"), 403)
        # the owner can never lock themselves out, whatever the ACL says
        lockout = (
            "@prefix acl: <http://www.w3.org/ns/auth/acl#>.\n"
            "<#none> a acl:Authorization; acl:agent <x:nobody>; acl:accessTo <./>; acl:mode acl:Read.\n"
        )
        await owner.put(f"{root}.acl", content=lockout, headers={"Content-Type": "text/turtle"})
        assert (await owner.get(f"{root}private/secret.ttl")).status_code == 200
        assert f"{base}{other_root}" != f"{base}{root}"


async def test_cors_echoes_the_origin_and_exposes_the_solid_headers(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        got = await client.get(root, headers={"Origin": "https://app.example"})
        assert got.headers["access-control-allow-origin"] == "https://app.example"
        assert "Origin" in got.headers["vary"]
        exposed = {h.strip().lower() for h in got.headers["access-control-expose-headers"].split(",")}
        assert {"link", "wac-allow", "etag", "accept-patch", "location", "allow"} <= exposed
        denied = await client.get(f"{root}nothing", headers={"Origin": "https://app.example"})
        assert denied.status_code == 404 and denied.headers["access-control-allow-origin"] == "https://app.example"
    async with mesh.client("pod") as browser:
        preflight = await browser.options(
            root,
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization, content-type, if-match",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


async def test_cors_never_allows_credentials(mesh):
    """The Solid client sends its token in Authorization, so no origin needs the browser's credentials;
    allowing them for every echoed origin let any site read what cookies or client certificates
    would unlock (L7)."""
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client):
        for response in (
            await client.get(root, headers={"Origin": "https://evil.example"}),
            await client.get(f"{root}nothing", headers={"Origin": "https://evil.example"}),
        ):
            assert response.headers["access-control-allow-origin"] == "https://evil.example"
            assert "access-control-allow-credentials" not in response.headers
    async with mesh.client("pod") as browser:
        preflight = await browser.options(
            root,
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
                "Cookie": "session=x",
            },
        )
        assert preflight.status_code == 200 and "access-control-allow-credentials" not in preflight.headers


async def test_uploaded_active_content_cannot_run_in_the_pods_origin(mesh):
    """Whatever a citizen (or anyone with Write) uploads is served sandboxed and unsniffable, and
    active types as a download: a page in the pod must not act with the pod's origin (M5)."""
    client, root, _ = await own_pod(mesh, "wang-fang")
    page = b"<html><script>fetch('/me/prescriptions', {method: 'POST'})</script></html>"
    sandbox = "sandbox; default-src 'none'"
    async with aclosing(client):
        for name, media in (
            ("page.html", "text/html"),
            ("page2.html", "TEXT/HTML; charset=utf-8"),
            ("img.svg", "image/svg+xml"),
            ("x.xhtml", "application/xhtml+xml"),
            ("x.js", "text/javascript"),
            ("x.xml", "application/xml"),
            ("odd", "text/html, text/plain"),
            ("x.pdf", "application/pdf"),
        ):
            assert (await client.put(f"{root}{name}", content=page, headers={"Content-Type": media})).status_code == 201
            for served in (await client.get(f"{root}{name}"), await client.head(f"{root}{name}")):
                assert served.headers["x-content-type-options"] == "nosniff", name
                assert served.headers["content-security-policy"] == sandbox, name
                assert served.headers["content-disposition"] == "attachment", name
        # passive content stays inline (still sandboxed and unsniffable); so does RDF
        await client.put(f"{root}note.txt", content=page, headers={"Content-Type": "text/plain"})
        await client.put(f"{root}n.ttl", content=NOTE, headers={"Content-Type": "text/turtle"})
        for path in ("note.txt", "n.ttl", ""):
            served = await client.get(f"{root}{path}")
            assert served.status_code == 200 and "content-disposition" not in served.headers, path
            assert served.headers["x-content-type-options"] == "nosniff"
            assert served.headers["content-security-policy"] == sandbox
        archive = await client.get("/me/pod/export")
        assert archive.headers["x-content-type-options"] == "nosniff"
        assert archive.headers["content-disposition"].startswith("attachment")


async def test_the_acl_of_an_acl_is_a_bad_request_not_a_server_error(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    async with aclosing(client), mesh.client("pod") as anonymous:
        for who in (anonymous, client):
            for path in (f"{root}x.acl.acl", f"{root}.acl.acl", f"{root}a/b.ttl.acl.acl.acl"):
                assert_problem(await who.get(path), 400, "invalid-path")
                assert_problem(
                    await who.put(path, content=NOTE, headers={"Content-Type": "text/turtle"}), 400, "invalid-path"
                )
                assert_problem(await who.delete(path), 400, "invalid-path")
                assert_problem(await who.options(path), 400, "invalid-path")
            assert_problem(
                await who.patch(
                    f"{root}x.acl.acl",
                    content="INSERT DATA { <a> <b> <c> }",
                    headers={"Content-Type": "application/sparql-update"},
                ),
                400,
                "invalid-path",
            )
        assert (
            await client.put(f"{root}x.acl", content="", headers={"Content-Type": "text/turtle"})
        ).status_code == 201  # one .acl is still the resource's ACL


async def test_a_patch_too_complex_to_match_is_refused_and_a_plain_one_still_works(mesh):
    client, root, _ = await own_pod(mesh, "wang-fang")
    prefixes = "@prefix solid: <http://www.w3.org/ns/solid/terms#>. @prefix ex: <http://example.org/>.\n"
    edges = prefixes + " ".join(f"<#n{i}> ex:p <#m{i}>." for i in range(299)) + " <#a> ex:r <#b>."
    chain = " ".join(f"?a{i} ex:p ?b{i}." for i in range(7))  # 15 variables, 300^7 combinations
    adversarial = (
        prefixes + f"_:r a solid:InsertDeletePatch; solid:where {{ {chain} ?zz ex:r ?a6. }}; "
        "solid:inserts { <#x> ex:y ex:z }."
    )
    plain = prefixes + "_:r a solid:InsertDeletePatch; solid:where { ?s ex:r ?o }; solid:inserts { ?s ex:q ?o }."
    async with aclosing(client):
        await client.put(f"{root}edges.ttl", content=edges, headers={"Content-Type": "text/turtle"})
        refused = await client.patch(f"{root}edges.ttl", content=adversarial, headers={"Content-Type": "text/n3"})
        assert_problem(refused, 422, "patch-too-complex")
        assert "ex:y" not in (await client.get(f"{root}edges.ttl")).text
        done = await client.patch(f"{root}edges.ttl", content=plain, headers={"Content-Type": "text/n3"})
        assert done.status_code == 205, done.text
