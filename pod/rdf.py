"""RDF in the pod: what counts as RDF, parsing what clients write, and content negotiation.

RDF resources are stored as Turtle and served as Turtle or JSON-LD, whichever the client
prefers; everything else is stored and returned byte for byte with its own content type.

Parsing never leaves the process. A JSON-LD document may only carry inline contexts: a context
named by IRI (remote, ``file:`` or relative, at any depth, in a list, a scoped term definition or
an ``@import``) is refused (422 ``remote-context-refused``) before rdflib sees the document, since
rdflib would fetch it with no timeout and from anywhere (H1). Underneath that check, rdflib's own
context loader is guarded while the pod parses, so a context the check missed is refused too,
never fetched. Turtle has nothing to fetch. Parser messages stay in the server log: they quote the
body and, for a fetch, would tell the client what answers on an internal address.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.shared.jsonld import context as jsonld_context

from pod.errors import InvalidRdf, RemoteContextRefused

TURTLE = "text/turtle"
JSON_LD = "application/ld+json"
RDF_TYPES = {TURTLE: "turtle", JSON_LD: "json-ld"}
LDP = Namespace("http://www.w3.org/ns/ldp#")
PIM = Namespace("http://www.w3.org/ns/pim/space#")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_rdf(content_type: str | None) -> bool:
    return media_type(content_type) in RDF_TYPES


log = logging.getLogger("citygate.pod.rdf")
# Deeper JSON than this is no document a Solid client writes, and rdflib walks it recursively.
MAX_JSON_DEPTH = 64
CONTEXT, IMPORT = "@context", "@import"


class RemoteDocumentRefused(Exception):
    """rdflib was about to load a document (a JSON-LD context) while the pod was parsing."""


def parse(body: bytes, content_type: str, base: str) -> Graph:
    """The graph in ``body``; 400 problem when it is not valid in its declared syntax, 422 when it
    is JSON-LD naming a context to be fetched."""
    media = media_type(content_type)
    try:
        text = body.decode("utf-8")
        if media == JSON_LD:
            document = json.loads(text)
            check_inline_contexts(document)
            text = json.dumps(document)  # rdflib reads exactly what was checked (duplicate keys and all)
        graph = Graph()
        with remote_documents_refused():
            graph.parse(data=text, format=RDF_TYPES[media], publicID=base)
    except (RemoteContextRefused, RemoteDocumentRefused) as error:
        raise RemoteContextRefused() from error
    except Exception as error:  # rdflib raises many kinds (BadSyntax, ValueError, JSON errors)
        log.info("refused %s at %s: %s", media, base, str(error)[:300])
        raise InvalidRdf(media) from error
    return graph


def check_inline_contexts(document: object) -> None:
    """Refuse a JSON-LD document that names any context by IRI, wherever it sits: every ``@context``
    value (a string, or a string in a list) and every ``@import``, at any depth. Iterative, and
    bounded in depth, so a deep document cannot exhaust the stack here or in rdflib."""
    pending: list[tuple[object, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH}")
        if isinstance(value, dict):
            if IMPORT in value:
                raise RemoteContextRefused()
            if CONTEXT in value:
                contexts = value[CONTEXT] if isinstance(value[CONTEXT], list) else [value[CONTEXT]]
                if any(not (context is None or isinstance(context, dict)) for context in contexts):
                    raise RemoteContextRefused()
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


_fetching = threading.local()
_guard_installed = threading.Lock()


@contextmanager
def remote_documents_refused() -> Iterator[None]:
    """While inside, rdflib's JSON-LD context loader refuses in this thread instead of fetching.

    The loader is wrapped once for the process; the wrapper only refuses in a thread that is inside
    this block, so other rdflib users are unaffected and concurrent requests do not race."""
    _install_guard()
    previous = getattr(_fetching, "refused", False)
    _fetching.refused = True
    try:
        yield
    finally:
        _fetching.refused = previous


def _install_guard() -> None:
    with _guard_installed:
        loader = jsonld_context.source_to_json
        if getattr(loader, "refuses_in_pod_parsing", False):
            return

        def guarded(source: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(_fetching, "refused", False):
                raise RemoteDocumentRefused(f"rdflib tried to load {str(source)[:200]!r}")
            return loader(source, *args, **kwargs)

        guarded.refuses_in_pod_parsing = True  # type: ignore[attr-defined]
        jsonld_context.source_to_json = guarded


def turtle_bytes(graph: Graph) -> bytes:
    return graph.serialize(format="turtle").encode("utf-8")


def serialize(graph: Graph, media: str, base: str) -> bytes:
    if media == JSON_LD:
        return graph.serialize(format="json-ld").encode("utf-8")
    return graph.serialize(format="turtle", base=base).encode("utf-8")


def preferred_rdf_type(accept: str | None) -> str | None:
    """Turtle or JSON-LD by the Accept header's preference (Turtle when anything goes); None when
    the client accepts neither."""
    if not accept:
        return TURTLE
    ranked = []
    for position, part in enumerate(accept.split(",")):
        pieces = [piece.strip() for piece in part.split(";")]
        quality = 1.0
        for parameter in pieces[1:]:
            if parameter.startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        ranked.append((quality, -position, pieces[0].lower()))
    for quality, _, media in sorted(ranked, reverse=True):
        if quality <= 0:
            continue
        if media in RDF_TYPES:
            return media
        if media in ("*/*", "text/*"):
            return TURTLE
        if media == "application/*":
            return JSON_LD
    return None


def container_graph(url: str, member_urls: list[tuple[str, bool]], *, is_storage: bool, stored: Graph | None) -> Graph:
    """A container's description: what was written to it, its types, and ``ldp:contains`` per member."""
    graph = Graph()
    if stored is not None:
        graph += stored
    container = URIRef(url)
    graph.bind("ldp", LDP)
    graph.add((container, RDF.type, LDP.BasicContainer))
    graph.add((container, RDF.type, LDP.Container))
    if is_storage:
        graph.bind("pim", PIM)
        graph.add((container, RDF.type, PIM.Storage))
    for member, member_is_container in member_urls:
        graph.add((container, LDP.contains, URIRef(member)))
        graph.add((URIRef(member), RDF.type, LDP.BasicContainer if member_is_container else LDP.Resource))
    return graph
