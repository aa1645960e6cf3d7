"""Applying Solid PATCH documents (N3 Patch and SPARQL ``INSERT DATA``/``DELETE DATA``) to a graph.

Both dialects are reduced to the same small program: a list of operations, each a ``where``
pattern that must match the resource exactly once, triples to delete that must all be present,
and triples to insert. Doing it that way keeps one set of semantics (Solid Protocol §5.3.1) for
both media types, so a client gets the same answer whichever it speaks.

Everything here is pure: ``Patch.apply`` works on a copy and either returns the whole new graph
or raises, so the HTTP layer stores all of a patch or none of it. Parsing is separate from
applying (``pod.patch_syntax.parse_patch``) because the HTTP layer must know which access modes a
patch needs (``Patch.inserts_only``, ``Patch.needs_read``) *before* it looks at the stored data;
otherwise a 409 on a failed ``where`` would tell a client without Read something about the resource.

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

from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.term import Node

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


# --- applying ------------------------------------------------------------------------------


def check_shape(triple: Triple, where: str) -> None:
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
        check_shape(triple, "The patch, once solid:where is applied,")
    missing = [triple for triple in deletes if triple not in graph]
    if missing:
        shown = " ".join(term.n3() for term in missing[0])
        raise PatchConflict(f"Cannot delete a triple the resource does not contain: {shown} .")
    for triple in deletes:
        graph.remove(triple)
    fresh: dict[BNode, BNode] = {}  # blank nodes in a patch are new, never the resource's own
    for triple in inserts:
        subject, predicate, object_ = (fresh.setdefault(t, BNode()) if isinstance(t, BNode) else t for t in triple)
        graph.add((subject, predicate, object_))


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
            if all(_unify(term, value, extended) for term, value in zip(pattern, triple, strict=True)):
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
