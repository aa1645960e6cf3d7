"""Reading Solid PATCH documents: N3 Patch and SPARQL ``INSERT DATA``/``DELETE DATA``, both into
the one small program ``pod.patch`` applies (its docstring says what each failure is answered with).

Parsing needs no resource at hand, so the HTTP layer decides the access modes a patch needs
(``Patch.inserts_only``, ``Patch.needs_read``) before it looks at the stored data. What is refused
anyway, or too large, is refused before the expensive part (rdflib's SPARQL translation) runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, Namespace, Variable
from rdflib.graph import QuotedGraph
from rdflib.namespace import RDF
from rdflib.term import Node

from pod.patch import (
    MAX_PATCH_TRIPLES,
    MAX_VARIABLES,
    MAX_WHERE_PATTERNS,
    Operation,
    Patch,
    PatchSyntaxError,
    PatchTooComplex,
    PatchUnprocessable,
    Triple,
    UnsupportedPatchType,
    check_shape,
)

SOLID = Namespace("http://www.w3.org/ns/solid/terms#")
N3_PATCH = "text/n3"
SPARQL_UPDATE = "application/sparql-update"
PATCH_TYPES = (N3_PATCH, SPARQL_UPDATE)
log = logging.getLogger("citygate.pod.patch")


@dataclass(frozen=True)
class PatchResult:
    graph: Graph
    inserts_only: bool
    needs_read: bool


def apply_patch(graph: Graph, body: str | bytes, content_type: str, *, base_iri: str) -> PatchResult:
    """Parse and apply in one go, for callers that have already settled access control."""
    patch = parse_patch(body, content_type, base_iri=base_iri)
    return PatchResult(patch.apply(graph), patch.inserts_only, patch.needs_read)


def parse_patch(body: str | bytes, content_type: str, *, base_iri: str) -> Patch:
    """Validate a patch without any resource at hand, so access modes can be decided first."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in PATCH_TYPES:
        raise UnsupportedPatchType(f"PATCH bodies must be {' or '.join(PATCH_TYPES)}, not {media or 'untyped'}")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PatchSyntaxError("The patch is not valid UTF-8.") from error
    if media == N3_PATCH:
        return Patch((_parse_n3(body, base_iri),))
    return Patch(_parse_sparql(body, base_iri))


# --- N3 Patch ------------------------------------------------------------------------------


def _parse_n3(body: str, base_iri: str) -> Operation:
    document = Graph()
    try:
        document.parse(data=body, format="n3", publicID=base_iri)
    except Exception as error:  # rdflib's N3 parser raises BadSyntax and assorted others
        log.info("refused an N3 patch: %s", str(error)[:300])  # the message quotes the body: log only
        raise PatchSyntaxError("The patch is not valid N3.") from error

    patches = set(document.subjects(RDF.type, SOLID.InsertDeletePatch))
    if len(patches) != 1:
        raise PatchSyntaxError(
            f"An N3 Patch must describe exactly one solid:InsertDeletePatch; this one has {len(patches)}"
        )
    patch = patches.pop()

    where = _formula(document, patch, "where")
    if len(where) > MAX_WHERE_PATTERNS:
        raise PatchTooComplex(f"solid:where has {len(where)} patterns; at most {MAX_WHERE_PATTERNS} are allowed")
    if len(_variables(where)) > MAX_VARIABLES:
        raise PatchTooComplex(
            f"solid:where has {len(_variables(where))} variables; at most {MAX_VARIABLES} are allowed"
        )
    deletes = _formula(document, patch, "deletes")
    inserts = _formula(document, patch, "inserts")
    _check_size(len(where) + len(deletes) + len(inserts))

    for name, triples in (("where", where), ("deletes", deletes)):
        if any(isinstance(term, BNode) for triple in triples for term in triple):
            raise PatchUnprocessable(f"solid:{name} must not contain blank nodes: they could never be matched reliably")
    bound = _variables(where)
    for name, triples in (("deletes", deletes), ("inserts", inserts)):
        unbound = _variables(triples) - bound
        if unbound:
            names = ", ".join(sorted(f"?{v}" for v in unbound))
            raise PatchUnprocessable(f"solid:{name} uses {names}, which solid:where does not bind")
    return Operation(where=where, deletes=deletes, inserts=inserts)


def _formula(document: Graph, patch: Node, name: str) -> tuple[Triple, ...]:
    """The triples of one of the patch's formulae; absent means empty (Solid §5.3.1)."""
    values = list(document.objects(patch, SOLID[name]))
    if not values:
        return ()
    if len(values) > 1:
        raise PatchUnprocessable(f"The patch has {len(values)} solid:{name} formulae; at most one is allowed")
    formula = values[0]
    if not isinstance(formula, QuotedGraph):
        raise PatchUnprocessable(f"solid:{name} must be a formula {{ ... }}, not {formula.n3()}")
    triples = tuple(sorted(formula.triples((None, None, None))))  # sorted: reproducible errors
    for triple in triples:
        if any(isinstance(term, Graph) for term in triple):
            raise PatchUnprocessable(f"solid:{name} must not contain nested formulae")
        check_shape(triple, f"solid:{name}")
    return triples


def _variables(triples: Iterable[Triple]) -> set[Variable]:
    return {term for triple in triples for term in triple if isinstance(term, Variable)}


# --- SPARQL Update -------------------------------------------------------------------------

_UNSUPPORTED_SPARQL = {
    "Modify": "DELETE/INSERT ... WHERE",
    "DeleteWhere": "DELETE WHERE",
    "Load": "LOAD",
    "Clear": "CLEAR",
    "Drop": "DROP",
    "Create": "CREATE",
    "Add": "ADD",
    "Move": "MOVE",
    "Copy": "COPY",
}


def _parse_sparql(body: str, base_iri: str) -> tuple[Operation, ...]:
    # Imported here: the SPARQL machinery is heavy and only SPARQL patches need it.
    from rdflib.plugins.sparql.algebra import translateUpdate
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parsed = parseUpdate(body)
    except Exception as error:  # pyparsing errors
        log.info("refused a SPARQL Update patch: %s", str(error)[:300])  # quotes the body: log only
        raise PatchSyntaxError("The patch is not valid SPARQL Update.") from error
    _check_before_translation(parsed.request or ())
    try:
        update = translateUpdate(parsed, base=base_iri)
    except Exception as error:  # unknown prefixes, bad IRIs ...
        log.info("refused a SPARQL Update patch: %s", str(error)[:300])
        raise PatchSyntaxError("The patch is not valid SPARQL Update.") from error

    operations = []
    algebra: Any = getattr(update, "algebra", update)  # rdflib gives a bare [] for an empty request
    for op in algebra:
        if op.name not in ("InsertData", "DeleteData"):
            label = _UNSUPPORTED_SPARQL.get(op.name, op.name)
            raise PatchUnprocessable(
                f"SPARQL {label} is not supported here; a PATCH may only use INSERT DATA and DELETE DATA"
            )
        if op.quads and any(op.quads.values()):
            raise PatchUnprocessable("GRAPH blocks are not supported: a PATCH changes the target resource's own graph")
        triples = tuple(op.triples or ())
        if _variables(triples):  # the SPARQL grammar forbids them in DATA; rdflib's parser doesn't
            raise PatchSyntaxError("INSERT DATA and DELETE DATA must not contain variables")
        for triple in triples:
            check_shape(triple, "INSERT DATA" if op.name == "InsertData" else "DELETE DATA")
        if op.name == "InsertData":
            operations.append(Operation(inserts=triples))
        else:
            if any(isinstance(term, BNode) for triple in triples for term in triple):
                raise PatchUnprocessable("DELETE DATA must not contain blank nodes (SPARQL 1.1 Update §3.1.2)")
            operations.append(Operation(deletes=triples))
    return tuple(operations)


def _check_before_translation(requests: Iterable[Any]) -> None:
    """Refuse what will be refused anyway, and what is too large, before rdflib translates it:
    its translation orders every block's triples for a join (quadratic and more: 3,000 triples
    in INSERT DATA took over 30 s), and a WHERE is translated before we could say 422."""
    terms = 0
    for op in requests:
        if op.name not in ("InsertData", "DeleteData"):
            label = _UNSUPPORTED_SPARQL.get(op.name, op.name)
            raise PatchUnprocessable(
                f"SPARQL {label} is not supported here; a PATCH may only use INSERT DATA and DELETE DATA"
            )
        # as plain dicts: a CompValue answers .get of a missing key with the key's name
        quads = dict(dict(op).get("quads") or {})
        if quads.get("quadsNotTriples"):
            raise PatchUnprocessable("GRAPH blocks are not supported: a PATCH changes the target resource's own graph")
        terms += sum(len(block) for block in quads.get("triples") or [])
    _check_size(terms // 3)


def _check_size(triples: int) -> None:
    if triples > MAX_PATCH_TRIPLES:
        raise PatchTooComplex(f"The patch has {triples} triples; at most {MAX_PATCH_TRIPLES} are allowed")
