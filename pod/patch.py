"""Applying Solid PATCH documents (N3 Patch and SPARQL ``INSERT DATA``/``DELETE DATA``) to a graph.

Both dialects are reduced to the same small program: a list of operations, each a ``where``
pattern that must match the resource exactly once, triples to delete that must all be present,
and triples to insert. Doing it that way keeps one set of semantics (Solid Protocol §5.3.1) for
both media types, so a client gets the same answer whichever it speaks.

Everything here is pure: ``apply_patch`` works on a copy and either returns the whole new graph
or raises, so the HTTP layer stores all of a patch or none of it. Parsing is separate from
applying (``parse_patch``) because the HTTP layer must know which access modes a patch needs
(``Patch.inserts_only``, ``Patch.needs_read``) *before* it looks at the stored data; otherwise a
409 on a failed ``where`` would tell a client without Read something about the resource.

Status codes, as the HTTP layer should send them:

* 400 ``PatchSyntaxError`` - the body is not valid N3 / SPARQL, or an N3 document does not hold
  exactly one ``solid:InsertDeletePatch`` (the Community Solid Server answers 422 for the latter;
  we treat "which patch did you mean?" as a malformed request).
* 409 ``PatchConflict`` - the patch is fine but does not fit the resource's current state: the
  ``where`` matches zero or several times, or a triple to delete is absent. SPARQL ``DELETE DATA``
  of an absent triple is a 409 too, although SPARQL itself would silently ignore it: a client that
  believes a triple is there is working from stale data, and saying so is what N3 Patch does.
* 415 ``UnsupportedPatchType`` - neither ``text/n3`` nor ``application/sparql-update``.
* 422 ``PatchUnprocessable`` - well-formed but outside what the spec (or this server) allows:
  unbound variables, blank nodes in ``where``/``deletes``, nested formulae, SPARQL operations
  other than ``INSERT DATA``/``DELETE DATA``, named graphs.
* 422 ``PatchTooComplex`` (kind ``patch-too-complex``) - matching ``where`` is a join, exponential
  in the number of patterns on an adversarial resource (a 291-byte patch once took seconds). So a
  ``where`` has at most ``MAX_WHERE_PATTERNS`` patterns and ``MAX_VARIABLES`` variables, checked
  when parsing, and applying a patch examines at most ``MAX_SEARCH_STEPS`` candidate triples in
  all; past that the patch is refused and nothing is changed. A patch holds at most
  ``MAX_PATCH_TRIPLES`` triples, counted before rdflib translates SPARQL (which is superlinear).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, Namespace, URIRef, Variable
from rdflib.graph import QuotedGraph
from rdflib.namespace import RDF
from rdflib.term import Node

SOLID = Namespace("http://www.w3.org/ns/solid/terms#")
N3_PATCH = "text/n3"
SPARQL_UPDATE = "application/sparql-update"
PATCH_TYPES = (N3_PATCH, SPARQL_UPDATE)
log = logging.getLogger("citygate.pod.patch")

Triple = tuple[Node, Node, Node]


class PatchError(ValueError):
    """A patch that cannot be applied; ``status`` is the HTTP status to answer with."""

    status = 400
    kind: str | None = None  # a problem kind more specific than the status's own

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PatchSyntaxError(PatchError):
    status = 400


class PatchConflict(PatchError):
    status = 409


class UnsupportedPatchType(PatchError):
    status = 415


class PatchUnprocessable(PatchError):
    status = 422


class PatchTooComplex(PatchUnprocessable):
    kind = "patch-too-complex"


# Far beyond any patch a Solid client sends (a where of a handful of patterns), far below what
# takes noticeable time: a step is one candidate triple looked at, a few microseconds.
MAX_WHERE_PATTERNS = 32
MAX_VARIABLES = 16
MAX_SEARCH_STEPS = 20_000
MAX_PATCH_TRIPLES = 200  # in all of a patch's formulae or DATA blocks; more is a PUT


class SearchBudget:
    """The candidate triples one patch may examine while matching its ``where`` clauses."""

    def __init__(self, steps: int = MAX_SEARCH_STEPS) -> None:
        self.steps = steps
        self.spent = 0

    def spend(self) -> None:
        self.spent += 1
        if self.spent > self.steps:
            raise PatchTooComplex(
                f"Matching solid:where needs more than {self.steps} steps on this resource; "
                "make it more specific (fewer patterns, more fixed terms)"
            )


@dataclass(frozen=True)
class Operation:
    """One unit of change; a SPARQL ``INSERT DATA`` is simply one with no ``where``."""

    where: tuple[Triple, ...] = ()
    deletes: tuple[Triple, ...] = ()
    inserts: tuple[Triple, ...] = ()


@dataclass(frozen=True)
class Patch:
    operations: tuple[Operation, ...]

    @property
    def inserts_only(self) -> bool:
        """Whether Append suffices: a patch that removes nothing cannot destroy data."""
        return not any(op.deletes for op in self.operations)

    @property
    def needs_read(self) -> bool:
        """Whether the outcome reveals current content, so Read is needed too (Solid §5.3.1:
        non-empty ``where`` → Read; non-empty ``deletes`` → Read and Write)."""
        return any(op.where or op.deletes for op in self.operations)

    def apply(self, graph: Graph, *, budget: SearchBudget | None = None) -> Graph:
        """The patched copy of ``graph``; ``graph`` itself is never touched, so a conflict
        halfway through a multi-operation patch leaves nothing half-applied. One ``budget``
        covers every operation."""
        budget = budget or SearchBudget()
        result = _copy(graph)
        for op in self.operations:
            _apply_operation(result, op, budget)
        return result


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
        _check_shape(triple, f"solid:{name}")
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
    for op in getattr(update, "algebra", update):  # rdflib gives a bare [] for an empty request
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
            _check_shape(triple, "INSERT DATA" if op.name == "InsertData" else "DELETE DATA")
        if op.name == "InsertData":
            operations.append(Operation(inserts=triples))
        else:
            if any(isinstance(term, BNode) for triple in triples for term in triple):
                raise PatchUnprocessable("DELETE DATA must not contain blank nodes (SPARQL 1.1 Update §3.1.2)")
            operations.append(Operation(deletes=triples))
    return tuple(operations)


def _check_before_translation(requests) -> None:
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


# --- applying ------------------------------------------------------------------------------


def _check_shape(triple: Triple, where: str) -> None:
    """Reject what N3 tolerates but RDF cannot store, before it reaches the graph."""
    subject, predicate, _ = triple
    if isinstance(subject, Literal):
        raise PatchUnprocessable(f"{where} has a literal as a subject: {subject.n3()}")
    if not isinstance(predicate, (URIRef, Variable)):
        raise PatchUnprocessable(f"{where} has a predicate that is not an IRI: {predicate.n3()}")


def _apply_operation(graph: Graph, op: Operation, budget: SearchBudget) -> None:
    solutions = _solutions(graph, op.where, limit=2, budget=budget)
    if not solutions:
        raise PatchConflict("solid:where matches nothing in the resource")
    if len(solutions) > 1:
        raise PatchConflict("solid:where matches the resource in more than one way; make it more specific")
    binding = solutions[0]

    deletes = [_bind(triple, binding) for triple in op.deletes]
    inserts = [_bind(triple, binding) for triple in op.inserts]
    for triple in deletes + inserts:
        _check_shape(triple, "The patch, once solid:where is applied,")
    missing = [triple for triple in deletes if triple not in graph]
    if missing:
        shown = " ".join(term.n3() for term in missing[0])
        raise PatchConflict(f"Cannot delete a triple the resource does not contain: {shown} .")
    for triple in deletes:
        graph.remove(triple)
    fresh: dict[BNode, BNode] = {}  # blank nodes in a patch are new, never the resource's own
    for triple in inserts:
        graph.add(tuple(fresh.setdefault(t, BNode()) if isinstance(t, BNode) else t for t in triple))


def _bind(triple: Triple, binding: dict[Variable, Node]) -> Triple:
    return tuple(binding[t] if isinstance(t, Variable) else t for t in triple)  # type: ignore[return-value]


def _solutions(
    graph: Graph, patterns: tuple[Triple, ...], *, limit: int, budget: SearchBudget
) -> list[dict[Variable, Node]]:
    """Up to ``limit`` distinct variable bindings under which every pattern is in ``graph``.

    A plain backtracking join, most-bound pattern first. Stopping at two solutions is enough to
    tell "exactly one" from "several" without enumerating a possibly large result. Solutions are
    distinct by construction: two search paths differ in the triple picked for the same
    (already substituted) pattern, hence in some variable's value. Every candidate triple spends
    one step of ``budget``, which refuses (``PatchTooComplex``) once exhausted.
    """
    found: list[dict[Variable, Node]] = []

    def search(remaining: list[Triple], binding: dict[Variable, Node]) -> None:
        if len(found) >= limit:
            return
        if not remaining:
            found.append(binding)
            return
        bound = [_bind_partial(p, binding) for p in remaining]
        index = max(range(len(bound)), key=lambda i: sum(not isinstance(t, Variable) for t in bound[i]))
        pattern = bound[index]
        rest = remaining[:index] + remaining[index + 1 :]
        query = tuple(None if isinstance(t, Variable) else t for t in pattern)
        for triple in graph.triples(query):  # type: ignore[arg-type]
            budget.spend()
            extended = dict(binding)
            if all(_unify(term, value, extended) for term, value in zip(pattern, triple)):
                search(rest, extended)
            if len(found) >= limit:
                return

    search(list(patterns), {})
    return found


def _bind_partial(triple: Triple, binding: dict[Variable, Node]) -> Triple:
    return tuple(binding.get(t, t) if isinstance(t, Variable) else t for t in triple)  # type: ignore[return-value]


def _unify(term: Node, value: Node, binding: dict[Variable, Node]) -> bool:
    """Bind a variable, or check it agrees when it occurs twice in one pattern (?x ex:p ?x)."""
    if not isinstance(term, Variable):
        return True
    return binding.setdefault(term, value) == value


def _copy(graph: Graph) -> Graph:
    copy = Graph(identifier=graph.identifier, base=graph.base)
    for prefix, namespace in graph.namespaces():
        copy.bind(prefix, namespace, override=True, replace=True)
    for triple in graph:
        copy.add(triple)
    return copy
