"""RDF in the pod: what counts as RDF, parsing what clients write, and content negotiation.

RDF resources are stored as Turtle and served as Turtle or JSON-LD, whichever the client
prefers; everything else is stored and returned byte for byte with its own content type.
"""

from __future__ import annotations

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF

from kernel.problems import Problem

TURTLE = "text/turtle"
JSON_LD = "application/ld+json"
RDF_TYPES = {TURTLE: "turtle", JSON_LD: "json-ld"}
LDP = Namespace("http://www.w3.org/ns/ldp#")
PIM = Namespace("http://www.w3.org/ns/pim/space#")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_rdf(content_type: str | None) -> bool:
    return media_type(content_type) in RDF_TYPES


def parse(body: bytes, content_type: str, base: str) -> Graph:
    """The graph in ``body``; 400 problem when it is not valid in its declared syntax."""
    graph = Graph()
    try:
        graph.parse(data=body.decode("utf-8"), format=RDF_TYPES[media_type(content_type)], publicID=base)
    except Exception as error:  # rdflib raises many kinds (BadSyntax, ValueError, JSON errors)
        raise Problem(400, f"The body is not valid {media_type(content_type)}: {str(error)[:300]}",
                      kind="invalid-rdf") from error
    return graph


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

