"""What the pod keeps for a write: RDF as validated Turtle, access control as valid ACL Turtle,
anything else byte for byte with its media type; and how user content is served back.

Anyone with Write may put any bytes with any media type into a pod, and every service shares the
pod's host, so what the pod serves must never run as a page of that origin (M5): every
response carrying user content is ``nosniff`` and sandboxed by CSP, and anything but a short list
of passive types is served as a download (``Content-Disposition: attachment``), whatever it
claims to be (an allow-list: ``text/html``, SVG, XHTML, scripts, XML, PDF and anything odd go to
disk).
"""

from __future__ import annotations

import logging

from rdflib import Graph

from kernel.problems import Problem
from pod import store, wac
from pod.paths import is_container
from pod.rdf import TURTLE, is_rdf, media_type, parse, turtle_bytes

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
        raise Problem(400, "A write needs a Content-Type.", kind="content-type-missing")
    if store.is_auxiliary(path):
        if media_type(content_type) != TURTLE:
            raise Problem(415, "Access control documents are Turtle.", kind="unsupported-media-type")
        wac_graph = _acl_graph(body, base + path)
        return TURTLE, turtle_bytes(wac_graph)
    if is_container(path):
        if body and not is_rdf(content_type):
            raise Problem(415, "A container's own description is RDF.", kind="unsupported-media-type")
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
        raise Problem(400, "The access control document is not valid Turtle.", kind="invalid-acl") from error
