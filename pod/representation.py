"""What the pod keeps for a write: RDF as validated Turtle, access control as valid ACL Turtle,
anything else byte for byte with its media type; and how a resource is served back: negotiated
RDF, container listings, and the headers Solid clients rely on (Link types and acl, Allow,
Accept-*, ETag).

Anyone with Write may put any bytes with any media type into a pod, and every service shares the
pod's host, so what the pod serves must never run as a page of that origin (M5): every
response carrying user content is ``nosniff`` and sandboxed by CSP, and anything but a short list
of passive types is served as a download (``Content-Disposition: attachment``), whatever it
claims to be (an allow-list: ``text/html``, SVG, XHTML, scripts, XML, PDF and anything odd go to
disk).
"""

from __future__ import annotations

import logging
from email.utils import format_datetime

from rdflib import Graph
from sqlmodel import Session
from starlette.responses import Response

from pod import store, wac
from pod.errors import ContentTypeMissing, InvalidAcl, NotAcceptable, UnsupportedMediaType
from pod.models import StoredResource
from pod.paths import ACL_SUFFIX, is_container, parent_of
from pod.rdf import TURTLE, container_graph, is_rdf, media_type, parse, preferred_rdf_type, serialize, turtle_bytes

log = logging.getLogger("citygate.pod.representation")

# Types a browser shows without running anything in the page's origin.
INLINE_TYPES = frozenset(
    {
        "text/plain",
        "text/csv",
        "text/turtle",
        "application/ld+json",
        "application/json",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "video/mp4",
        "video/webm",
        "video/ogg",
    }
)
ACCEPT_PATCH = "text/n3, application/sparql-update"
LDP_NS = "http://www.w3.org/ns/ldp#"
USER_CONTENT_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}


def served_headers(content_type: str) -> dict[str, str]:
    """The headers that keep served user content from acting in the pod's origin."""
    if media_type(content_type) in INLINE_TYPES:
        return dict(USER_CONTENT_HEADERS)
    return {**USER_CONTENT_HEADERS, "Content-Disposition": "attachment"}


def stored_form(path: str, headers: dict[str, str], body: bytes, base: str) -> tuple[str, bytes]:
    """What is kept for a write: RDF as Turtle (validated), anything else as sent."""
    content_type = headers.get("content-type")
    if not content_type:
        raise ContentTypeMissing()
    if store.is_auxiliary(path):
        if media_type(content_type) != TURTLE:
            raise UnsupportedMediaType("Access control documents are Turtle.")
        wac_graph = _acl_graph(body, base + path)
        return TURTLE, turtle_bytes(wac_graph)
    if is_container(path):
        if body and not is_rdf(content_type):
            raise UnsupportedMediaType("A container's own description is RDF.")
        return TURTLE, turtle_bytes(parse(body, content_type, base + path)) if body else b""
    if is_rdf(content_type):
        return TURTLE, turtle_bytes(parse(body, content_type, base + path))
    return media_type(content_type) or "application/octet-stream", body


def _acl_graph(body: bytes, url: str) -> Graph:
    try:
        return wac.parse_acl(body.decode("utf-8"), url)
    except (wac.InvalidAcl, UnicodeDecodeError) as error:
        # the parser's message quotes the body: it stays in the server log
        log.info("refused an access control document at %s: %s", url, str(error)[:300])
        raise InvalidAcl() from error


def read_response(session: Session, row: StoredResource, headers: dict[str, str], base: str, *, head: bool) -> Response:
    """``row`` served as the request's headers ask: RDF negotiated, a container with its members."""
    if headers.get("if-none-match") and row.etag in [t.strip() for t in headers["if-none-match"].split(",")]:
        return Response(status_code=304, headers={"ETag": row.etag})
    url = base + row.path
    if is_container(row.path) or is_rdf(row.content_type):
        media = preferred_rdf_type(headers.get("accept"))
        if media is None:
            raise NotAcceptable()
        if media == TURTLE and not is_container(row.path):
            # RDF is stored as Turtle (turtle_bytes): the same graph without a parse and
            # re-serialization, and exactly the bytes the ETag is a digest of.
            content, content_type = row.content, media
        else:
            graph = parse(row.content, TURTLE, url) if row.content else Graph()
            if is_container(row.path):
                listed = [(base + p, is_container(p)) for p in store.member_paths(session, row.path)]
                graph = container_graph(url, listed, is_storage=parent_of(row.path) is None, stored=graph)
            content, content_type = serialize(graph, media, url), media
    else:
        content, content_type = row.content, row.content_type
    response = Response(
        b"" if head else content,
        media_type=content_type,
        headers={**resource_headers(row.path, base), **served_headers(content_type)},
    )
    response.headers["ETag"] = row.etag
    response.headers["Last-Modified"] = format_datetime(row.modified, usegmt=True)
    response.headers["Vary"] = "Accept, Authorization, Origin"
    if head:
        response.headers["Content-Length"] = str(len(content))
    return response


def resource_headers(path: str, base: str) -> dict[str, str]:
    """What may be done at ``path`` and what it is (Link types, its ACL, Allow, Accept-*)."""
    types = [f'<{LDP_NS}Resource>; rel="type"']
    allow = "GET, HEAD, OPTIONS, PUT, PATCH, DELETE"
    headers = {"Accept-Patch": ACCEPT_PATCH, "Accept-Put": "*/*"}
    if is_container(path):
        types += [f'<{LDP_NS}BasicContainer>; rel="type"', f'<{LDP_NS}Container>; rel="type"']
        if parent_of(path) is None:
            types.append('<http://www.w3.org/ns/pim/space#Storage>; rel="type"')
        allow = "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"
        headers["Accept-Post"] = "*/*"
    links = [*types]
    if not store.is_auxiliary(path):
        links.append(f'<{base}{path}{ACL_SUFFIX}>; rel="acl"')
    return {**headers, "Link": ", ".join(links), "Allow": allow}
