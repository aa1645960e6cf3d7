"""Web Access Control evaluation: discovery, inheritance, agent matching, modes, headers."""

from __future__ import annotations

import pytest
from rdflib import URIRef

from pod import wac
from pod.wac import Mode

BASE = "http://127.0.0.1:8203"
ALICE = "http://127.0.0.1:8203/pods/alice/profile/card#me"
BOB = "https://bob.example/profile/card#me"
PREFIXES = "@prefix acl: <http://www.w3.org/ns/auth/acl#> .\n@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"
R, W, A, C = Mode.READ, Mode.WRITE, Mode.APPEND, Mode.CONTROL


def store(documents: dict[str, str]):
    """A read_acl lookup over ACL Turtle keyed by ACL path, parsed as the HTTP layer would."""
    graphs = {path: wac.parse_acl(PREFIXES + body, BASE + path) for path, body in documents.items()}
    return graphs.get


def modes(documents: dict[str, str], path: str, agent: str | None) -> frozenset[Mode]:
    acl = wac.effective_acl(path, store(documents))
    return wac.allowed_modes(acl, base_url=BASE, resource_path=path, agent=agent)


# --- paths -----------------------------------------------------------------------------------


def test_acl_paths_sit_beside_their_resource():
    assert wac.acl_path_of("/a/b") == "/a/b.acl"
    assert wac.acl_path_of("/a/") == "/a/.acl"
    assert wac.acl_path_of("/") == "/.acl"
    assert wac.is_acl_path("/a/.acl") and wac.is_acl_path("/a/b.acl")
    assert not wac.is_acl_path("/a/b") and not wac.is_acl_path("/a/")


def test_container_of_walks_up_to_the_root():
    assert wac.container_of("/a/b/c") == "/a/b/"
    assert wac.container_of("/a/b/") == "/a/"
    assert wac.container_of("/a") == "/"
    assert wac.container_of("/") is None


# --- discovery -------------------------------------------------------------------------------


OWN_AND_ROOT = {
    "/.acl": f"<#d> a acl:Authorization ; acl:agent <{BOB}> ; acl:default <./> ; acl:mode acl:Read .",
    "/a/doc.acl": f"<#o> a acl:Authorization ; acl:agent <{ALICE}> ; acl:accessTo <doc> ; acl:mode acl:Write .",
}


def test_own_acl_wins_over_an_ancestors_default():
    acl = wac.effective_acl("/a/doc", store(OWN_AND_ROOT))
    assert (acl.acl_path, acl.target_path, acl.inherited) == ("/a/doc.acl", "/a/doc", False)
    assert modes(OWN_AND_ROOT, "/a/doc", ALICE) == {W, A}
    assert modes(OWN_AND_ROOT, "/a/doc", BOB) == frozenset()


def test_default_is_inherited_at_depth_two():
    acl = wac.effective_acl("/a/b/doc", store(OWN_AND_ROOT))
    assert (acl.acl_path, acl.target_path, acl.inherited) == ("/.acl", "/", True)
    assert modes(OWN_AND_ROOT, "/a/b/doc", BOB) == {R}
    assert modes(OWN_AND_ROOT, "/a/b/", BOB) == {R}


def test_nearest_ancestor_is_used():
    documents = {
        **OWN_AND_ROOT,
        "/a/.acl": f"<#d> a acl:Authorization ; acl:agent <{ALICE}> ; acl:default <./> ; acl:mode acl:Append .",
    }
    acl = wac.effective_acl("/a/b/doc", store(documents))
    assert (acl.acl_path, acl.target_path) == ("/a/.acl", "/a/")
    assert modes(documents, "/a/b/doc", ALICE) == {A}
    assert modes(documents, "/a/b/doc", BOB) == frozenset()  # the root's default no longer applies


def test_access_to_is_not_inherited():
    documents = {
        "/a/.acl": "<#p> a acl:Authorization ; acl:agentClass foaf:Agent ; acl:accessTo <./> ; acl:mode acl:Read ."
    }
    assert modes(documents, "/a/", None) == {R}
    assert modes(documents, "/a/doc", None) == frozenset()
    assert modes(documents, "/a/b/", None) == frozenset()


def test_default_does_not_apply_to_the_container_itself():
    documents = {
        "/a/.acl": "<#p> a acl:Authorization ; acl:agentClass foaf:Agent ; acl:default <./> ; acl:mode acl:Read ."
    }
    assert modes(documents, "/a/", None) == frozenset()
    assert modes(documents, "/a/x", None) == {R}


def test_no_acl_anywhere():
    with pytest.raises(wac.NoAcl):
        wac.effective_acl("/a/b/doc", lambda path: None)


def test_acl_documents_are_governed_by_their_subjects_acl():
    acl = wac.effective_acl("/a/doc.acl", store(OWN_AND_ROOT))
    assert acl.target_path == "/a/doc" and not acl.inherited
    acl = wac.effective_acl("/a/b/.acl", store(OWN_AND_ROOT))
    assert acl.target_path == "/" and acl.inherited


def test_evaluating_an_acl_against_a_resource_it_does_not_govern_is_an_error():
    acl = wac.effective_acl("/a/doc", store(OWN_AND_ROOT))
    with pytest.raises(ValueError, match="does not govern"):
        wac.allowed_modes(acl, base_url=BASE, resource_path="/a/other", agent=ALICE)


# --- agents ----------------------------------------------------------------------------------


def test_foaf_agent_is_anyone_including_anonymous():
    documents = {
        "/doc.acl": "<#p> a acl:Authorization ; acl:agentClass foaf:Agent ; acl:accessTo <doc> ; acl:mode acl:Read ."
    }
    assert modes(documents, "/doc", None) == {R}
    assert modes(documents, "/doc", BOB) == {R}
    acl = wac.effective_acl("/doc", store(documents))
    assert wac.public_modes(acl, base_url=BASE, resource_path="/doc") == {R}


def test_authenticated_agent_excludes_anonymous():
    documents = {
        "/doc.acl": "<#p> a acl:Authorization ; acl:agentClass acl:AuthenticatedAgent ; "
        "acl:accessTo <doc> ; acl:mode acl:Read ."
    }
    assert modes(documents, "/doc", BOB) == {R}
    assert modes(documents, "/doc", None) == frozenset()


def test_agent_specific_modes():
    documents = {
        "/doc.acl": (
            f"<#w> a acl:Authorization ; acl:agent <{ALICE}> ; acl:accessTo <doc> ; acl:mode acl:Write .\n"
            f"<#a> a acl:Authorization ; acl:agent <{BOB}> ; acl:accessTo <doc> ; acl:mode acl:Append .\n"
            f"<#c> a acl:Authorization ; acl:agent <{ALICE}> ; acl:accessTo <doc> ; acl:mode acl:Control .\n"
        )
    }
    assert modes(documents, "/doc", ALICE) == {W, A, C}
    assert modes(documents, "/doc", BOB) == {A}
    assert modes(documents, "/doc", "https://eve.example/#me") == frozenset()
    assert modes(documents, "/doc", None) == frozenset()


def test_write_implies_append():
    documents = {
        "/doc.acl": f"<#w> a acl:Authorization ; acl:agent <{BOB}> ; acl:accessTo <doc> ; acl:mode acl:Write ."
    }
    assert A in modes(documents, "/doc", BOB)


def test_untyped_or_unsupported_authorizations_grant_nothing():
    documents = {
        "/doc.acl": (
            f"<#untyped> acl:agent <{BOB}> ; acl:accessTo <doc> ; acl:mode acl:Read .\n"
            "<#group> a acl:Authorization ; acl:agentGroup <groups#friends> ;"
            " acl:accessTo <doc> ; acl:mode acl:Read .\n"
            f"<#odd> a acl:Authorization ; acl:agent <{BOB}> ; acl:accessTo <doc> ; acl:mode acl:Fly .\n"
        )
    }
    assert modes(documents, "/doc", BOB) == frozenset()


def test_relative_iris_resolve_against_the_acl_url():
    documents = {
        "/a/b/.acl": (
            f"<#d> a acl:Authorization ; acl:agent <{BOB}> ;"
            " acl:accessTo <./> ; acl:default <./> ; acl:mode acl:Read .\n"
            f"<#x> a acl:Authorization ; acl:agent <{ALICE}> ; acl:accessTo <x> ; acl:mode acl:Read .\n"
        )
    }
    graph = store(documents)("/a/b/.acl")
    assert (None, wac.ACL.accessTo, URIRef(f"{BASE}/a/b/x")) in graph
    assert modes(documents, "/a/b/", BOB) == {R}
    assert modes(documents, "/a/b/c/d", BOB) == {R}
    # <x> names /a/b/x, which is not the container, so it neither applies to the container nor is inherited
    assert modes(documents, "/a/b/x", ALICE) == frozenset()


def test_base_url_trailing_slash_is_tolerated():
    documents = {
        "/doc.acl": "<#p> a acl:Authorization ; acl:agentClass foaf:Agent ; acl:accessTo <doc> ; acl:mode acl:Read ."
    }
    acl = wac.effective_acl("/doc", store(documents))
    assert wac.allowed_modes(acl, base_url=BASE + "/", resource_path="/doc", agent=None) == {R}


# --- documents -------------------------------------------------------------------------------


def test_malformed_acl_is_refused():
    with pytest.raises(wac.InvalidAcl):
        wac.parse_acl("<#x> a acl:Authorization ;;; <", BASE + "/.acl")
    assert issubclass(wac.InvalidAcl, ValueError)


def test_owner_acl_round_trip():
    root = "/pods/alice/"
    turtle = wac.owner_acl(BASE + root, ALICE)
    documents = {root + ".acl": wac.parse_acl(turtle, BASE + root + ".acl")}
    for path in (root, root + "notes/2024/today.ttl", root + "notes/"):
        acl = wac.effective_acl(path, documents.get)
        assert wac.allowed_modes(acl, base_url=BASE, resource_path=path, agent=ALICE) == wac.ALL_MODES
        assert wac.allowed_modes(acl, base_url=BASE, resource_path=path, agent=BOB) == frozenset()
        assert wac.public_modes(acl, base_url=BASE, resource_path=path) == frozenset()
    assert wac.effective_acl(root + "notes/2024/today.ttl", documents.get).inherited


def test_owner_acl_refuses_iris_that_would_inject_turtle():
    with pytest.raises(ValueError, match="Not an IRI"):
        wac.owner_acl(BASE + "/pods/x/", "https://evil.example/> ; acl:agentClass foaf:Agent . <#")


def test_with_owner_grants_everything_to_the_owner_only():
    assert wac.with_owner(frozenset(), ALICE, ALICE) == wac.ALL_MODES
    assert wac.with_owner({R}, BOB, ALICE) == {R}
    assert wac.with_owner({W}, BOB, ALICE) == {W, A}
    assert wac.with_owner(frozenset(), None, ALICE) == frozenset()


# --- HTTP ------------------------------------------------------------------------------------


def test_wac_allow_header():
    assert wac.wac_allow_header({C, R, A, W}, {R}) == 'user="read write append control", public="read"'
    assert wac.wac_allow_header({W}, set()) == 'user="write append", public=""'
    assert wac.wac_allow_header(frozenset(), frozenset()) == 'user="", public=""'


@pytest.mark.parametrize(
    ("method", "exists", "is_acl", "append_only", "expected"),
    [
        ("GET", True, False, False, {R}),
        ("HEAD", True, False, False, {R}),
        ("get", False, False, False, {R}),
        ("PUT", True, False, False, {W}),
        ("PUT", True, False, True, {W}),  # replacing can remove data
        ("PUT", False, False, False, {W}),
        ("PUT", False, False, True, {A}),
        ("PATCH", True, False, False, {W}),
        ("PATCH", True, False, True, {A}),
        ("PATCH", False, False, False, {W}),
        ("PATCH", False, False, True, {A}),
        ("POST", True, False, False, {A}),
        ("DELETE", True, False, False, {W}),
        ("OPTIONS", True, False, False, set()),
        ("GET", True, True, False, {C}),
        ("PUT", False, True, False, {C}),
        ("PATCH", True, True, True, {C}),
        ("DELETE", True, True, False, {C}),
    ],
)
def test_required_modes(method, exists, is_acl, append_only, expected):
    assert wac.required_modes(method, exists=exists, is_acl=is_acl, append_only=append_only) == expected


def test_required_modes_rejects_unknown_methods():
    with pytest.raises(ValueError, match="No access rule"):
        wac.required_modes("TRACE", exists=True, is_acl=False)
