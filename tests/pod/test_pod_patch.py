"""Solid PATCH: N3 Patch and SPARQL INSERT DATA / DELETE DATA applied to a resource's graph."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef, Variable
from rdflib.compare import isomorphic

from pod.patch import (
    MAX_PATCH_TRIPLES,
    MAX_SEARCH_STEPS,
    MAX_VARIABLES,
    MAX_WHERE_PATTERNS,
    Operation,
    Patch,
    PatchConflict,
    PatchError,
    PatchSyntaxError,
    PatchTooComplex,
    PatchUnprocessable,
    SearchBudget,
    UnsupportedPatchType,
)
from pod.patch_syntax import apply_patch, parse_patch

URL = "http://127.0.0.1:8203/pods/alice/profile/card"
ME = URIRef(URL + "#me")
EX = Namespace("http://www.example.org/terms#")
N3 = "text/n3"
SPARQL = "application/sparql-update"
PREFIXES = "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n@prefix ex: <http://www.example.org/terms#>.\n"
SPARQL_PREFIXES = "PREFIX ex: <http://www.example.org/terms#>\n"

# The example from the Solid Protocol, §5.3.1 (N3 Patch).
SPEC_EXAMPLE = (
    PREFIXES
    + """
_:rename a solid:InsertDeletePatch;
  solid:where   { ?person ex:familyName "Garcia". };
  solid:inserts { ?person ex:givenName "Alex". };
  solid:deletes { ?person ex:givenName "Claudia". }.
"""
)


def resource(turtle: str = '<#me> ex:familyName "Garcia"; ex:givenName "Claudia".') -> Graph:
    return Graph().parse(data=PREFIXES + turtle, format="turtle", publicID=URL)


def n3(body: str) -> str:
    return PREFIXES + "_:patch a solid:InsertDeletePatch;\n" + body


def snapshot(graph: Graph) -> set:
    return set(graph)


# --- N3 Patch ------------------------------------------------------------------------------


def test_spec_example_renames_via_where_binding():
    graph = resource()
    result = apply_patch(graph, SPEC_EXAMPLE, N3, base_iri=URL)
    assert set(result.graph) == {(ME, EX.familyName, Literal("Garcia")), (ME, EX.givenName, Literal("Alex"))}
    assert result.inserts_only is False
    assert result.needs_read is True


def test_insert_only_patch_needs_only_append():
    graph = resource()
    result = apply_patch(graph, n3('solid:inserts { <#me> ex:nick "Cla". }.'), N3, base_iri=URL)
    assert (ME, EX.nick, Literal("Cla")) in result.graph
    assert len(result.graph) == 3
    assert result.inserts_only is True
    assert result.needs_read is False


def test_where_on_an_insert_only_patch_needs_read():
    patch = parse_patch(
        n3('solid:where { ?p ex:familyName "Garcia" }; solid:inserts { ?p ex:nick "G" }.'), N3, base_iri=URL
    )
    assert patch.inserts_only is True
    assert patch.needs_read is True


def test_where_without_a_match_is_a_conflict():
    with pytest.raises(PatchConflict) as caught:
        apply_patch(resource(), SPEC_EXAMPLE.replace('"Garcia"', '"Smith"'), N3, base_iri=URL)
    assert caught.value.status == 409


def test_where_with_two_matches_is_a_conflict():
    graph = resource(
        '<#me> ex:familyName "Garcia"; ex:givenName "Claudia". '
        '<#sister> ex:familyName "Garcia"; ex:givenName "Claudia".'
    )
    with pytest.raises(PatchConflict, match="more than one"):
        apply_patch(graph, SPEC_EXAMPLE, N3, base_iri=URL)


def test_where_joins_across_patterns_to_a_single_match():
    graph = resource(
        '<#me> ex:familyName "Garcia"; ex:givenName "Claudia". <#sister> ex:familyName "Garcia"; ex:givenName "Ana".'
    )
    patch = n3(
        'solid:where { ?p ex:familyName "Garcia". ?p ex:givenName "Ana". };\nsolid:inserts { ?p ex:nick "Ani". }.'
    )
    result = apply_patch(graph, patch, N3, base_iri=URL)
    assert (URIRef(URL + "#sister"), EX.nick, Literal("Ani")) in result.graph
    assert (ME, EX.nick, Literal("Ani")) not in result.graph


def test_delete_of_an_absent_triple_is_a_conflict():
    with pytest.raises(PatchConflict, match="does not contain") as caught:
        apply_patch(resource(), n3('solid:deletes { <#me> ex:givenName "Alex". }.'), N3, base_iri=URL)
    assert caught.value.status == 409


def test_variable_not_bound_by_where_is_unprocessable():
    with pytest.raises(PatchUnprocessable, match=r"\?who") as caught:
        apply_patch(resource(), n3('solid:inserts { ?who ex:nick "x". }.'), N3, base_iri=URL)
    assert caught.value.status == 422


def test_blank_nodes_in_deletes_are_unprocessable():
    with pytest.raises(PatchUnprocessable, match="blank nodes"):
        apply_patch(resource(), n3('solid:deletes { _:b ex:givenName "Claudia". }.'), N3, base_iri=URL)


def test_blank_nodes_in_inserts_are_fresh():
    graph = resource()
    graph.add((BNode("b"), EX.old, Literal("keep apart")))
    result = apply_patch(graph, n3('solid:inserts { <#me> ex:address _:b. _:b ex:city "Porto". }.'), N3, base_iri=URL)
    (address,) = result.graph.objects(ME, EX.address)
    assert isinstance(address, BNode) and address != BNode("b")
    assert (address, EX.city, Literal("Porto")) in result.graph


def test_two_patch_resources_are_a_syntax_error():
    body = (
        PREFIXES
        + """
    _:a a solid:InsertDeletePatch; solid:inserts { <#me> ex:nick "a". }.
    _:b a solid:InsertDeletePatch; solid:inserts { <#me> ex:nick "b". }.
    """
    )
    with pytest.raises(PatchSyntaxError, match="exactly one") as caught:
        apply_patch(resource(), body, N3, base_iri=URL)
    assert caught.value.status == 400


def test_no_patch_resource_is_a_syntax_error():
    with pytest.raises(PatchSyntaxError, match="exactly one"):
        apply_patch(resource(), PREFIXES + '<#me> ex:nick "a".', N3, base_iri=URL)


def test_malformed_n3_is_a_syntax_error():
    with pytest.raises(PatchSyntaxError, match="not valid N3"):
        apply_patch(resource(), n3("solid:inserts { <#me> ex:nick "), N3, base_iri=URL)


def test_a_formula_that_is_not_a_formula_is_unprocessable():
    with pytest.raises(PatchUnprocessable, match="formula"):
        apply_patch(resource(), n3('solid:inserts "<#me> ex:nick 1".'), N3, base_iri=URL)


def test_relative_iris_resolve_against_the_resource():
    result = apply_patch(
        resource(), n3("solid:inserts { <#me> ex:knows <../../bob/profile/card#me>. }."), N3, base_iri=URL
    )
    assert (ME, EX.knows, URIRef("http://127.0.0.1:8203/pods/bob/profile/card#me")) in result.graph


def test_input_graph_is_unchanged_after_success():
    graph = resource()
    before = snapshot(graph)
    result = apply_patch(graph, SPEC_EXAMPLE, N3, base_iri=URL)
    assert snapshot(graph) == before
    assert result.graph is not graph


def test_input_graph_is_unchanged_after_failure():
    graph = resource()
    before = snapshot(graph)
    # The where matches and the first delete is present; the second is not, so nothing may change.
    patch = n3(
        'solid:deletes { <#me> ex:givenName "Claudia". <#me> ex:nick "Cla". };\n'
        'solid:inserts { <#me> ex:givenName "Alex". }.'
    )
    with pytest.raises(PatchConflict):
        apply_patch(graph, patch, N3, base_iri=URL)
    assert snapshot(graph) == before


def test_prefixes_survive_the_copy():
    graph = resource()
    graph.bind("ex", EX)
    result = apply_patch(graph, SPEC_EXAMPLE, N3, base_iri=URL)
    assert "ex:givenName" in result.graph.serialize(format="turtle")


# --- SPARQL Update -------------------------------------------------------------------------


def test_sparql_insert_data():
    result = apply_patch(resource(), SPARQL_PREFIXES + 'INSERT DATA { <#me> ex:nick "Cla" . }', SPARQL, base_iri=URL)
    assert (ME, EX.nick, Literal("Cla")) in result.graph
    assert result.inserts_only is True
    assert result.needs_read is False


def test_sparql_delete_data():
    result = apply_patch(
        resource(), SPARQL_PREFIXES + 'DELETE DATA { <#me> ex:givenName "Claudia" . }', SPARQL, base_iri=URL
    )
    assert set(result.graph) == {(ME, EX.familyName, Literal("Garcia"))}
    assert result.inserts_only is False


def test_sparql_delete_then_insert_in_sequence():
    body = SPARQL_PREFIXES + (
        'DELETE DATA { <#me> ex:givenName "Claudia" . } ;\nINSERT DATA { <#me> ex:givenName "Alex" . }'
    )
    graph = resource()
    result = apply_patch(graph, body, SPARQL, base_iri=URL)
    expected = resource('<#me> ex:familyName "Garcia"; ex:givenName "Alex".')
    assert isomorphic(result.graph, expected)
    assert result.inserts_only is False


def test_sparql_sequence_sees_earlier_operations():
    body = SPARQL_PREFIXES + 'INSERT DATA { <#me> ex:nick "C" } ; DELETE DATA { <#me> ex:nick "C" }'
    result = apply_patch(resource(), body, SPARQL, base_iri=URL)
    assert isomorphic(result.graph, resource())


def test_sparql_delete_data_of_an_absent_triple_is_a_conflict():
    graph = resource()
    before = snapshot(graph)
    body = SPARQL_PREFIXES + 'INSERT DATA { <#me> ex:nick "C" } ; DELETE DATA { <#me> ex:nick "X" }'
    with pytest.raises(PatchConflict) as caught:
        apply_patch(graph, body, SPARQL, base_iri=URL)
    assert caught.value.status == 409
    assert snapshot(graph) == before


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            'DELETE { <#me> ex:givenName ?n } INSERT { <#me> ex:givenName "Alex" } WHERE { <#me> ex:givenName ?n }',
            "DELETE/INSERT",
        ),
        ("DELETE WHERE { <#me> ex:givenName ?n }", "DELETE WHERE"),
        ("CLEAR DEFAULT", "CLEAR"),
        ("LOAD <http://example.org/other>", "LOAD"),
        ("DROP ALL", "DROP"),
    ],
)
def test_sparql_beyond_insert_and_delete_data_is_unprocessable(body, named):
    with pytest.raises(PatchUnprocessable, match=named) as caught:
        apply_patch(resource(), SPARQL_PREFIXES + body, SPARQL, base_iri=URL)
    assert caught.value.status == 422


def test_sparql_named_graphs_are_unprocessable():
    with pytest.raises(PatchUnprocessable, match="GRAPH"):
        apply_patch(resource(), "INSERT DATA { GRAPH <other> { <#a> <#b> <#c> } }", SPARQL, base_iri=URL)


def test_sparql_relative_iris_resolve_against_the_resource():
    result = apply_patch(resource(), "INSERT DATA { <#me> <#likes> <../photos/> }", SPARQL, base_iri=URL)
    assert (ME, URIRef(URL + "#likes"), URIRef("http://127.0.0.1:8203/pods/alice/photos/")) in result.graph


@pytest.mark.parametrize(
    "body",
    [
        "this is not sparql",
        "INSERT DATA { <#me> ex:nick }",
        "INSERT DATA { <#me> undeclared:nick 1 }",
        "DELETE DATA { ?s <#p> <#o> }",
    ],
)
def test_malformed_sparql_is_a_syntax_error(body):
    with pytest.raises(PatchSyntaxError) as caught:
        apply_patch(resource(), SPARQL_PREFIXES + body, SPARQL, base_iri=URL)
    assert caught.value.status == 400


# --- media types and errors ----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/turtle", "application/json-patch+json", "", "text/plain"])
def test_unsupported_media_type(content_type):
    with pytest.raises(UnsupportedPatchType) as caught:
        apply_patch(resource(), SPEC_EXAMPLE, content_type, base_iri=URL)
    assert caught.value.status == 415


def test_media_type_parameters_and_case_are_ignored():
    result = apply_patch(resource(), SPEC_EXAMPLE.encode(), "Text/N3; charset=utf-8", base_iri=URL)
    assert (ME, EX.givenName, Literal("Alex")) in result.graph


def test_every_error_is_a_value_error_with_a_status_and_message():
    for cls, status in (
        (PatchSyntaxError, 400),
        (PatchConflict, 409),
        (UnsupportedPatchType, 415),
        (PatchUnprocessable, 422),
    ):
        error = cls("why")
        assert isinstance(error, PatchError) and isinstance(error, ValueError)
        assert error.status == status and error.message == "why" and str(error) == "why"


# --- N3 Patch edge cases -------------------------------------------------------------------


def test_nested_formulae_are_unprocessable():
    with pytest.raises(PatchUnprocessable, match="nested"):
        apply_patch(resource(), n3("solid:where { { <#a> ex:b ex:c } ex:d ex:e }."), N3, base_iri=URL)


def test_a_variable_repeated_in_one_pattern_must_bind_consistently():
    graph = resource("<#me> ex:self <#me>. <#you> ex:self <#me>.")
    result = apply_patch(graph, n3("solid:where { ?x ex:self ?x }; solid:inserts { ?x ex:ok true }."), N3, base_iri=URL)
    assert (ME, EX.ok, Literal(True)) in result.graph
    assert (URIRef(URL + "#you"), EX.ok, Literal(True)) not in result.graph


def test_a_literal_bound_into_subject_position_is_unprocessable():
    with pytest.raises(PatchUnprocessable, match="literal as a subject"):
        apply_patch(
            resource(),
            n3("solid:where { <#me> ex:familyName ?f }; solid:inserts { ?f ex:of <#me> }."),
            N3,
            base_iri=URL,
        )


def test_an_empty_patch_changes_nothing():
    graph = resource()
    result = apply_patch(graph, n3("solid:where { }; solid:inserts { }."), N3, base_iri=URL)
    assert snapshot(result.graph) == snapshot(graph)
    assert result.inserts_only is True and result.needs_read is False


# --- bounded matching (M7) ----------------------------------------------------------------------


def many_edges(count: int = 300) -> Graph:
    return resource(" ".join(f"<#n{i}> ex:p <#m{i}>." for i in range(count - 1)) + " <#a> ex:r <#b>.")


def adversarial_where(chain: int = 7) -> str:
    """``chain`` independent patterns, then one that fails only once the last of them is bound: a
    backtracking join tries every combination, 300^7 of them on ``many_edges``."""
    patterns = " ".join(f"?a{i} ex:p ?b{i}." for i in range(chain))
    return n3(f"solid:where {{ {patterns} ?zz ex:r ?a{chain - 1}. }}; solid:inserts {{ <#x> ex:y ex:z }}.")


def test_an_exponential_where_is_refused_within_the_step_budget():
    patch = parse_patch(adversarial_where(), N3, base_iri=URL)
    budget = SearchBudget()
    with pytest.raises(PatchTooComplex) as refused:
        patch.apply(many_edges(), budget=budget)
    assert refused.value.status == 422 and refused.value.kind == "patch-too-complex"
    assert budget.spent == MAX_SEARCH_STEPS + 1  # it stopped at the budget, not at the end of the search


def test_a_legitimate_where_on_a_large_resource_needs_few_steps():
    patch = parse_patch(
        n3("solid:where { ?s ex:r ?o. ?o2 ex:p <#m7> }; solid:inserts { ?s ex:seen ?o2 }."), N3, base_iri=URL
    )
    budget = SearchBudget()
    patched = patch.apply(many_edges(), budget=budget)
    assert (URIRef(URL + "#a"), EX.seen, URIRef(URL + "#n7")) in patched
    assert budget.spent <= 4
    spec = SearchBudget()
    assert (ME, EX.givenName, Literal("Alex")) in parse_patch(SPEC_EXAMPLE, N3, base_iri=URL).apply(
        resource(), budget=spec
    )
    assert spec.spent <= 2


def test_too_many_patterns_or_variables_are_refused_before_any_search():
    too_many_patterns = " ".join(f"<#s> ex:p{i} <#o>." for i in range(MAX_WHERE_PATTERNS + 1))
    with pytest.raises(PatchTooComplex, match="patterns"):
        parse_patch(n3(f"solid:where {{ {too_many_patterns} }}."), N3, base_iri=URL)
    too_many_variables = " ".join(f"<#s> ex:p ?v{i}." for i in range(MAX_VARIABLES + 1))
    with pytest.raises(PatchTooComplex, match="variables"):
        parse_patch(n3(f"solid:where {{ {too_many_variables} }}."), N3, base_iri=URL)
    within = " ".join(f"?s ex:p{i} ?v{i}." for i in range(MAX_VARIABLES - 1))
    parse_patch(n3(f"solid:where {{ {within} }}."), N3, base_iri=URL)


def test_the_budget_spans_every_operation_of_a_patch():
    budget = SearchBudget(steps=3)
    patch = Patch((Operation(where=((Variable("s"), EX.p, Variable("o")),)),) * 4)
    with pytest.raises(PatchTooComplex):
        patch.apply(resource("<#x> ex:p <#y>."), budget=budget)


def test_a_patch_with_too_many_triples_is_refused_before_it_is_translated():
    many = " ".join(f"<#a{i}> ex:b <#c>." for i in range(MAX_PATCH_TRIPLES + 1))
    for body, media in (
        (f"{SPARQL_PREFIXES}INSERT DATA {{ {many} }}", SPARQL),
        (f"{SPARQL_PREFIXES}INSERT DATA {{ <#x> ex:y 1 }}; DELETE DATA {{ {many} }}", SPARQL),
        (n3(f"solid:inserts {{ {many} }}."), N3),
    ):
        with pytest.raises(PatchTooComplex, match="triples"):
            parse_patch(body, media, base_iri=URL)
    # what would be refused anyway is refused before its (costly) translation
    where = " ".join(f"<#a{i}> ex:b ?o." for i in range(20))
    with pytest.raises(PatchUnprocessable, match="DELETE/INSERT"):
        parse_patch(f"{SPARQL_PREFIXES}DELETE {{ <#x> ex:y ?o }} WHERE {{ {where} }}", SPARQL, base_iri=URL)
    within = " ".join(f"<#a{i}> ex:b <#c>." for i in range(50))
    assert (
        len(parse_patch(f"{SPARQL_PREFIXES}INSERT DATA {{ {within} }}", SPARQL, base_iri=URL).operations[0].inserts)
        == 50
    )
