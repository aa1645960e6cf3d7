"""Web Access Control (https://solidproject.org/TR/wac), evaluated as pure functions over rdflib graphs.

Nothing here touches storage or HTTP: the caller supplies a lookup from ACL path to parsed graph
(or its extracted authorizations), so the rules can be tested exhaustively without a database and
reused by every entry point (``pod.access_control`` applies them to the pod's store).

Deliberately not supported: ``acl:agentGroup`` (it needs fetching group documents, i.e. I/O) and
``acl:origin`` (the pod only serves the citizen's own app, so origins add nothing). Authorizations
using only those never match, which fails closed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import FOAF, RDF
from rdflib.term import Node

ACL = Namespace("http://www.w3.org/ns/auth/acl#")
ACL_SUFFIX = ".acl"


class Mode(enum.Enum):
    """The access modes, in the order the WAC-Allow header lists them."""

    READ = "read"
    WRITE = "write"
    APPEND = "append"
    CONTROL = "control"

    @property
    def iri(self) -> URIRef:
        return ACL[self.value.capitalize()]


ALL_MODES = frozenset(Mode)
_MODE_BY_IRI: dict[Node, Mode] = {mode.iri: mode for mode in Mode}


class NoAcl(LookupError):
    """No ACL governs the resource, so nobody (but the owner) may touch it: fail closed."""


class InvalidAcl(ValueError):
    """An ACL document that cannot be parsed must be refused rather than half-applied."""


@dataclass(frozen=True)
class Authorization:
    """One ``acl:Authorization`` reduced to what evaluation looks at (IRIs as strings). Immutable and
    free of rdflib, so the HTTP layer can cache it per ACL version and share it between threads."""

    access_to: frozenset[str]
    default: frozenset[str]
    agents: frozenset[str]
    agent_classes: frozenset[str]
    modes: frozenset[Mode]


@dataclass(frozen=True)
class EffectiveAcl:
    """The ACL that decides access to a resource, and where it came from.

    ``target_path`` is the resource or container the ACL belongs to; when ``inherited`` only its
    ``acl:default`` authorizations count, otherwise only its ``acl:accessTo`` ones.
    """

    acl_path: str
    authorizations: tuple[Authorization, ...]
    target_path: str
    inherited: bool


# --- paths -----------------------------------------------------------------------------------


def is_acl_path(path: str) -> bool:
    return path.endswith(ACL_SUFFIX)


def acl_path_of(path: str) -> str:
    """An ACL document sits beside its resource, so discovery needs no index."""
    if is_acl_path(path):
        raise ValueError(f"{path} is itself an ACL; ACLs are governed by their resource's ACL.")
    return path + ACL_SUFFIX


def subject_of_acl(path: str) -> str:
    """The resource an ACL document controls: access to the ACL is Control on that resource."""
    return path.removesuffix(ACL_SUFFIX)


def container_of(path: str) -> str | None:
    """The parent container, the next place ACL discovery looks; None once at the root."""
    trimmed = path.removesuffix("/")
    if not trimmed:
        return None
    return trimmed[: trimmed.rfind("/") + 1]


def _ancestors(path: str) -> Iterable[str]:
    parent = container_of(path)
    while parent is not None:
        yield parent
        parent = container_of(parent)


# --- discovery -------------------------------------------------------------------------------


def discovery_order(path: str) -> list[tuple[str, str]]:
    """Where ACL discovery looks for ``path``'s ACL, nearest first: (ACL path, the resource or
    container it belongs to). Listed up front so the HTTP layer can look them all up at once."""
    subject = subject_of_acl(path)
    return [(acl_path_of(target), target) for target in (subject, *_ancestors(subject))]


def effective_acl(path: str, read_acl: Callable[[str], Graph | tuple[Authorization, ...] | None]) -> EffectiveAcl:
    """The resource's own ACL if it has one, else the nearest ancestor container's (spec §ACL
    Resource Discovery). An ACL document's path resolves to its subject's ACL, because the spec
    grants access to ACLs through Control on the resource they describe. ``read_acl`` gives an ACL
    document's graph, or its already extracted ``authorizations``, or None when there is none."""
    for index, (acl_path, target) in enumerate(discovery_order(path)):
        found = read_acl(acl_path)
        if found is not None:
            rules = found if isinstance(found, tuple) else authorizations(found)
            return EffectiveAcl(acl_path, rules, target, inherited=index > 0)
    raise NoAcl(f"No ACL governs {path}.")


# --- evaluation ------------------------------------------------------------------------------


def allowed_modes(acl: EffectiveAcl, *, base_url: str, resource_path: str, agent: str | None) -> frozenset[Mode]:
    """Every mode some matching authorization grants ``agent`` (None: anonymous) on the resource."""
    subject = subject_of_acl(resource_path)
    _check_governs(acl, subject)
    target = _url(base_url, acl.target_path)
    granted: set[Mode] = set()
    for authorization in acl.authorizations:
        scope = authorization.default if acl.inherited else authorization.access_to
        if target in scope and _matches_agent(authorization, agent):
            granted |= authorization.modes
    return implied(granted)


def public_modes(acl: EffectiveAcl, *, base_url: str, resource_path: str) -> frozenset[Mode]:
    """What anyone gets; WAC-Allow reports it so clients know what sharing a link achieves."""
    return allowed_modes(acl, base_url=base_url, resource_path=resource_path, agent=None)


def with_owner(modes: Iterable[Mode], agent: str | None, owner_webid: str) -> frozenset[Mode]:
    """The owner keeps every mode whatever the ACL says, so a bad ACL edit cannot lock them out."""
    if agent is not None and agent == owner_webid:
        return ALL_MODES
    return implied(modes)


def implied(modes: Iterable[Mode]) -> frozenset[Mode]:
    """Write implies Append (spec §Access Modes), so checks may ask for the weaker mode alone."""
    modes = frozenset(modes)
    return modes | {Mode.APPEND} if Mode.WRITE in modes else modes


def _check_governs(acl: EffectiveAcl, subject: str) -> None:
    """Evaluating an ACL against a resource it does not govern is a caller bug, not a denial."""
    governs = (
        subject.startswith(acl.target_path) and subject != acl.target_path
        if acl.inherited
        else subject == acl.target_path
    )
    if not governs:
        raise ValueError(f"{acl.acl_path} does not govern {subject}.")


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def _matches_agent(authorization: Authorization, agent: str | None) -> bool:
    if str(FOAF.Agent) in authorization.agent_classes:
        return True
    if agent is None:
        return False
    return str(ACL.AuthenticatedAgent) in authorization.agent_classes or agent in authorization.agents


# --- documents -------------------------------------------------------------------------------


def parse_acl(turtle: str, acl_url: str) -> Graph:
    """The ACL's graph, with relative IRIs (``<./>``, ``<x>``) resolved against the ACL's own URL
    as the spec requires; anything unparsable is refused."""
    graph = Graph()
    try:
        graph.parse(data=turtle, format="turtle", publicID=acl_url)
    except Exception as error:  # rdflib raises many kinds (BadSyntax, ValueError, ...)
        raise InvalidAcl(str(error)[:300]) from error
    return graph


def authorizations(graph: Graph) -> tuple[Authorization, ...]:
    """Every ``acl:Authorization`` in an ACL's graph. Only IRIs count as agents, classes and
    targets (a literal naming one matches nothing); unknown mode IRIs are ignored, since a grant we
    do not understand grants nothing."""

    def iris(authorization: Node, predicate: URIRef) -> frozenset[str]:
        return frozenset(str(o) for o in graph.objects(authorization, predicate) if isinstance(o, URIRef))

    return tuple(
        Authorization(
            access_to=iris(a, ACL.accessTo),
            default=iris(a, ACL.default),
            agents=iris(a, ACL.agent),
            agent_classes=iris(a, ACL.agentClass),
            modes=frozenset(_MODE_BY_IRI[iri] for iri in graph.objects(a, ACL.mode) if iri in _MODE_BY_IRI),
        )
        for a in graph.subjects(RDF.type, ACL.Authorization)
    )


def owner_acl(container_url: str, owner_webid: str) -> str:
    """A new pod's root ACL: the owner controls the root and, through acl:default, all inside it,
    so the pod is private until its owner shares something."""
    for iri in (container_url, owner_webid):
        if any(c in iri for c in '<>"{}|^`\\ ') or any(ord(c) < 0x21 for c in iri):
            raise ValueError(f"Not an IRI that can be written in Turtle: {iri!r}")
    return (
        "@prefix acl: <http://www.w3.org/ns/auth/acl#> .\n\n"
        "<#owner> a acl:Authorization ;\n"
        f"    acl:agent <{owner_webid}> ;\n"
        f"    acl:accessTo <{container_url}> ;\n"
        f"    acl:default <{container_url}> ;\n"
        "    acl:mode acl:Read, acl:Write, acl:Control .\n"
    )


# --- HTTP ------------------------------------------------------------------------------------


def wac_allow_header(user_modes: Iterable[Mode], public_modes: Iterable[Mode]) -> str:
    """The WAC-Allow value, letting clients adapt their UI without trial-and-error requests."""
    return f'user="{_mode_list(user_modes)}", public="{_mode_list(public_modes)}"'


def _mode_list(modes: Iterable[Mode]) -> str:
    granted = implied(modes)
    return " ".join(mode.value for mode in Mode if mode in granted)


_READS = {"GET", "HEAD"}
_WRITES = {"PUT", "PATCH"}


def required_modes(method: str, *, exists: bool, is_acl: bool, append_only: bool = False) -> frozenset[Mode]:
    """The modes a request needs on the requested path (for POST: the container).

    ACL documents need Control whatever the method, since reading an ACL reveals who has access
    and writing one grants it. ``append_only`` lets a PATCH that only inserts triples, or a
    creation, get by with Append; a PUT replacing an existing resource can remove data, so it
    always needs Write. OPTIONS needs nothing: it only describes what is possible.
    """
    method = method.upper()
    if method == "OPTIONS":
        return frozenset()
    if method not in _READS | _WRITES | {"POST", "DELETE"}:
        raise ValueError(f"No access rule for method {method}.")
    if is_acl:
        return frozenset({Mode.CONTROL})
    if method in _READS:
        return frozenset({Mode.READ})
    if method == "PUT" and exists:
        return frozenset({Mode.WRITE})
    if method == "POST" or (method in _WRITES and append_only):
        return frozenset({Mode.APPEND})
    return frozenset({Mode.WRITE})
