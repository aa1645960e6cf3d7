"""The Solid Protocol on one resource, for a citizen's app or anyone: LDP with Web Access Control.

Every request: lock the pod for a write, find the effective ACL's modes for the agent
(``pod.access_control``), check the method needs no more, then read or write. Headers follow what
Solid clients rely on (``pod.representation``); PATCH decides its modes from the patch itself.
"""

from __future__ import annotations

from datetime import datetime

from rdflib import Graph
from sqlmodel import Session
from starlette.responses import Response

from kernel.problems import NotFound, Problem
from pod import patch as patches
from pod import store, wac
from pod.access_control import Modes, granted_modes, refuse
from pod.dependencies import PodState
from pod.errors import (
    InvalidPatch,
    MethodNotAllowed,
    OverlyComplexPatch,
    PatchDoesNotApply,
    PathConflict,
    PreconditionFailed,
    UnprocessablePatch,
    UnsupportedMediaType,
)
from pod.models import StoredResource
from pod.patch_syntax import parse_patch
from pod.paths import is_container, pod_of, pod_root, twin_of, webid_of
from pod.rdf import TURTLE, is_rdf, parse, turtle_bytes
from pod.representation import LDP_NS, read_response, resource_headers, stored_form

READ_METHODS = ("GET", "HEAD", "OPTIONS")
# What each way a patch fails is answered with (pod.patch itself knows nothing of HTTP).
PATCH_PROBLEMS: dict[type[patches.PatchError], type[Problem]] = {
    patches.PatchSyntaxError: InvalidPatch,
    patches.PatchConflict: PatchDoesNotApply,
    patches.UnsupportedPatchType: UnsupportedMediaType,
    patches.PatchUnprocessable: UnprocessablePatch,
    patches.PatchTooComplex: OverlyComplexPatch,
}


def handle(
    state: PodState, method: str, path: str, agent: str | None, headers: dict[str, str], body: bytes
) -> Response:
    """``method`` on ``path`` for ``agent`` (a WebID, or None: anonymous), in one transaction."""
    base = state.base_url
    with state.database.session() as session:
        if method not in READ_METHODS:
            store.lock_pod(session, pod_of(path))  # first: what is read below is the latest committed
        if session.get(StoredResource, pod_root(pod_of(path))) is None:
            raise NotFound("No pod here.")
        owner = webid_of(base, pod_of(path))
        existing = store.read(session, path)
        granted, public = granted_modes(session, state.acl_cache, base, path, agent, owner)
        if method == "OPTIONS":  # what may be done here, for anyone (CORS preflights never reach this)
            response = Response(status_code=204, headers=resource_headers(path, base))
            response.headers["WAC-Allow"] = wac.wac_allow_header(granted, public)
            return response
        # PATCH decides its modes from the patch itself (_patch)
        needed = (
            frozenset()
            if method == "PATCH"
            else wac.required_modes(method, exists=existing is not None, is_acl=store.is_auxiliary(path))
        )
        if not needed <= granted:
            refuse(agent)
        response = _dispatch(session, method, path, existing, headers, body, base, state.clock(), granted, agent)
        session.commit()
    if method != "DELETE" and response.status_code < 300:
        response.headers["WAC-Allow"] = wac.wac_allow_header(granted, public)
    return response


def _dispatch(
    session: Session,
    method: str,
    path: str,
    existing: StoredResource | None,
    headers: dict[str, str],
    body: bytes,
    base: str,
    now: datetime,
    granted: Modes,
    agent: str | None,
) -> Response:
    if method in ("GET", "HEAD"):
        if existing is None:
            raise NotFound("No such resource.")
        return read_response(session, existing, headers, base, head=method == "HEAD")
    _check_preconditions(existing, headers)
    if method == "PUT":
        return _put(session, path, existing, headers, body, base, now)
    if method == "POST":
        return _post(session, path, existing, headers, body, base, now)
    if method == "PATCH":
        return _patch(session, path, existing, headers, body, base, now, granted, agent)
    store.delete(session, path)
    return Response(status_code=204)


def _check_preconditions(existing: StoredResource | None, headers: dict[str, str]) -> None:
    if_match, if_none_match = headers.get("if-match"), headers.get("if-none-match")
    if if_match is not None:
        tags = [tag.strip() for tag in if_match.split(",")]
        if existing is None or ("*" not in tags and existing.etag not in tags):
            raise PreconditionFailed("The resource is not in the state If-Match names.")
    if if_none_match is not None and existing is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        if "*" in tags or existing.etag in tags:
            raise PreconditionFailed("The resource exists (If-None-Match).")


def _put(
    session: Session,
    path: str,
    existing: StoredResource | None,
    headers: dict[str, str],
    body: bytes,
    base: str,
    now: datetime,
) -> Response:
    content_type, content = stored_form(path, headers, body, base)
    if is_container(path):
        if existing is not None:
            existing.content, existing.etag, existing.modified = content, store.etag_of(TURTLE, content), now
            session.add(existing)
            return Response(status_code=205)
        if store.read(session, twin_of(path)) is not None:
            raise PathConflict(f"{twin_of(path)} exists; {path} cannot exist beside it.")
        store.ensure_parents(session, path, now)
        store.write_container(session, path, now, content)
        return Response(status_code=201, headers={"Location": base + path})
    created = store.write(session, path, content_type, content, now)
    return Response(status_code=201 if created else 205, headers={"Location": base + path} if created else {})


def _post(
    session: Session,
    path: str,
    existing: StoredResource | None,
    headers: dict[str, str],
    body: bytes,
    base: str,
    now: datetime,
) -> Response:
    if not is_container(path):
        raise MethodNotAllowed(
            "POST creates members of a container; this is not one.", allow="GET, HEAD, OPTIONS, PUT, PATCH, DELETE"
        )
    if existing is None:
        raise NotFound("No such container.")
    wants_container = f"<{LDP_NS}BasicContainer>" in headers.get("link", "") or f"<{LDP_NS}Container>" in headers.get(
        "link", ""
    )
    target = store.new_member_path(session, path, headers.get("slug"), wants_container)
    if wants_container:
        store.write_container(session, target, now)
    else:
        content_type, content = stored_form(target, headers, body, base)
        store.write(session, target, content_type, content, now)
    return Response(status_code=201, headers={"Location": base + target})


def _patch(
    session: Session,
    path: str,
    existing: StoredResource | None,
    headers: dict[str, str],
    body: bytes,
    base: str,
    now: datetime,
    granted: Modes,
    agent: str | None,
) -> Response:
    try:
        patch = parse_patch(body, headers.get("content-type", ""), base_iri=base + path)
    except patches.PatchError as error:
        raise patch_problem(error) from error
    # Decided before the data is touched: a where-clause's 409 would otherwise tell someone
    # without Read what the resource holds (Solid Protocol §5.3.1).
    needed = {wac.Mode.APPEND} if patch.inserts_only else {wac.Mode.WRITE}
    if patch.needs_read:
        needed.add(wac.Mode.READ)
    if store.is_auxiliary(path):
        needed = {wac.Mode.CONTROL}
    if not needed <= granted:
        refuse(agent)
    current = Graph()
    if existing is not None:
        if not (is_rdf(existing.content_type) or is_container(path)):
            raise UnsupportedMediaType("Only RDF resources can be patched.")
        current = parse(existing.content, TURTLE, base + path) if existing.content else Graph()
    elif is_container(path):
        raise NotFound("No such container.")
    try:
        patched = patch.apply(current)
    except patches.PatchError as error:
        raise patch_problem(error) from error
    content = turtle_bytes(patched)
    if existing is not None and is_container(path):
        existing.content, existing.etag, existing.modified = content, store.etag_of(TURTLE, content), now
        session.add(existing)
        return Response(status_code=205)
    created = store.write(session, path, TURTLE, content, now)
    return Response(status_code=201 if created else 205, headers={"Location": base + path} if created else {})


def patch_problem(error: patches.PatchError) -> Problem:
    """The problem a patch that cannot be applied is answered with (its message as the detail)."""
    for kind in type(error).__mro__:
        if kind in PATCH_PROBLEMS:
            return PATCH_PROBLEMS[kind](error.message)
    return InvalidPatch(error.message)
