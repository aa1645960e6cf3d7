"""The Solid Protocol over HTTP: LDP resources and containers with Web Access Control.

Every request: check the path, find who is asking (the citizen's own-app token for the pod, or
nobody), evaluate the effective ACL for the modes the method needs, then read or write. Headers
follow what Solid clients rely on (Link types and acl, Allow, Accept-*, WAC-Allow, ETag).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from rdflib import Graph

from kernel.access import is_allowed
from kernel.citizens import CITIZEN_APP
from kernel.consent_headers import ARTEFACT_HEADER, LEDGER_INDEX_HEADER, PURPOSE_HEADER, RECEIPT_HEADER
from kernel.problems import Problem
from kernel.tokens import bearer_scheme, verified_claims
from pod import consent_gate, deposits, store, wac
from pod import patch as patches
from pod.consent_gate import ServiceCaller
from pod.paths import check_path, is_container, parent_of, pod_of, pod_root, twin_of
from pod.rdf import TURTLE, container_graph, is_rdf, parse, preferred_rdf_type, serialize, turtle_bytes
from pod.representation import served_headers, stored_form

router = APIRouter(tags=["Solid protocol"])
METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
READ_METHODS = ("GET", "HEAD", "OPTIONS")
ACCEPT_PATCH = "text/n3, application/sparql-update"
READ_UNDER_CONSENT = "pod:read"
DEPOSIT = "pod:deposit"
LDP_NS = "http://www.w3.org/ns/ldp#"


def webid_of(base_url: str, pod_id: str) -> str:
    return f"{base_url}{pod_root(pod_id)}profile/card#me"


async def caller_of(request: Request) -> str | ServiceCaller | None:
    """The WebID of a citizen calling with their app's token for the pod, a department reading
    under consent (``pod:read``) or depositing a record (``pod:deposit``), or None when anonymous."""
    credentials = await bearer_scheme(request)
    if credentials is None:
        return None
    claims = await verified_claims(request, credentials, missing="")
    client = str(claims.get("client_id", ""))
    if client == CITIZEN_APP and claims.get("sub"):
        return webid_of(request.app.state.settings.public_url, str(claims["sub"]))
    permissions = frozenset(
        permission
        for permission in str(claims.get("scope", "")).split()
        if permission in (READ_UNDER_CONSENT, DEPOSIT) and is_allowed(client, permission)
    )
    if permissions:
        return ServiceCaller(
            client,
            permissions,
            request.headers.get(PURPOSE_HEADER),
            request.headers.get(RECEIPT_HEADER),
            request.headers.get(ARTEFACT_HEADER),
        )
    raise Problem(
        403, "Pods are used by citizens' own apps, and read by departments under consent.", kind="forbidden-caller"
    )


@router.api_route(
    "/pods/{rest:path}",
    methods=METHODS,
    include_in_schema=True,
    summary="A resource or container of a citizen's pod (Solid Protocol)",
)
async def resource(request: Request, rest: str) -> Response:
    raw = request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0]
    path = check_path(request.scope["path"], raw or request.scope["path"])
    caller = await caller_of(request)
    if isinstance(caller, ServiceCaller):
        return await service_request(request, path, caller)
    body = await request.body() if request.method in ("PUT", "POST", "PATCH") else b""
    return await run_in_threadpool(handle, request.app, request.method, path, caller, dict(request.headers), body)


async def service_request(request: Request, path: str, caller: ServiceCaller) -> Response:
    """A department reads under consent, or deposits a record under a legal basis; nothing else."""
    if request.method in ("GET", "HEAD") and READ_UNDER_CONSENT in caller.permissions:
        return await read_under_consent(request, path, caller)
    if request.method == "PUT" and DEPOSIT in caller.permissions:
        return await deposits.deposit(request, path, caller)
    raise Problem(
        403, "A department may read under a consent and deposit the records it issues, nothing else.", kind="forbidden"
    )


async def read_under_consent(request: Request, path: str, reader: ServiceCaller) -> Response:
    app = request.app
    if not await run_in_threadpool(_pod_exists, app, path):
        raise Problem(404, "No pod here.", kind="not-found")
    ledger_index = await consent_gate.decide(app, reader, path)  # logged before anything is read
    response = await run_in_threadpool(_read_path, app, path, dict(request.headers), request.method == "HEAD")
    response.headers[LEDGER_INDEX_HEADER] = str(ledger_index)
    return response


def _read_path(app, path: str, headers: dict[str, str], head: bool) -> Response:
    with app.state.database.session() as session:
        row = store.read(session, path)
        if row is None:
            raise Problem(404, "No such resource.", kind="not-found")
        return _read(session, row, headers, app.state.settings.public_url, head=head)


def _pod_exists(app, path: str) -> bool:
    with app.state.database.session() as session:
        return session.get(store.StoredResource, pod_root(pod_of(path))) is not None


def handle(app, method: str, path: str, agent: str | None, headers: dict[str, str], body: bytes) -> Response:
    base = app.state.settings.public_url
    with app.state.database.session() as session:
        if method not in READ_METHODS:
            store.lock_pod(session, pod_of(path))  # first: what is read below is the latest committed
        if session.get(store.StoredResource, pod_root(pod_of(path))) is None:
            raise Problem(404, "No pod here.", kind="not-found")
        owner = webid_of(base, pod_of(path))
        existing = store.read(session, path)
        granted, public = _modes(session, app.state.acl_cache, base, path, agent, owner)
        if method == "OPTIONS":  # what may be done here, for anyone (CORS preflights never reach this)
            response = Response(status_code=204, headers=_resource_headers(path, base))
            response.headers["WAC-Allow"] = wac.wac_allow_header(granted, public)
            return response
        # PATCH decides its modes from the patch itself (pod.ldp._patch)
        needed = (
            frozenset()
            if method == "PATCH"
            else wac.required_modes(method, exists=existing is not None, is_acl=store.is_auxiliary(path))
        )
        if not needed <= granted:
            _refuse(agent)
        response = _dispatch(session, method, path, existing, headers, body, base, granted, agent)
        session.commit()
    if method != "DELETE" and response.status_code < 300:
        response.headers["WAC-Allow"] = wac.wac_allow_header(granted, public)
    return response


def _modes(session, cache: wac.AclCache, base: str, path: str, agent: str | None, owner: str):
    # One query finds which ACLs exist (and their ETags) wherever discovery may look; only an ACL
    # version not seen before is then read and parsed.
    etags = store.etags(session, [acl_path for acl_path, _ in wac.discovery_order(path)])

    def read_acl(acl_path: str) -> tuple[wac.Authorization, ...] | None:
        if acl_path not in etags:
            return None  # no such ACL now, whatever the cache holds
        url = base + acl_path
        rules = cache.get(url, etags[acl_path])
        if rules is None:
            row = store.read(session, acl_path)
            if row is None:  # deleted since the ETags were read
                return None
            rules = wac.authorizations(wac.parse_acl(row.content.decode("utf-8"), url))
            cache.put(url, row.etag, rules)  # the ETag of the bytes just parsed
        return rules

    try:
        acl = wac.effective_acl(path, read_acl)
        user = wac.allowed_modes(acl, base_url=base, resource_path=path, agent=agent)
        public = wac.allowed_modes(acl, base_url=base, resource_path=path, agent=None)
    except wac.NoAcl:
        user = public = frozenset()
    return wac.with_owner(user, agent, owner), public


def _refuse(agent: str | None):
    if agent is None:
        raise Problem(
            401,
            "Log in with your app to use this resource.",
            kind="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="citygate-pod"'},
        )
    raise Problem(403, "The resource's access control does not grant you this.", kind="forbidden")


def _dispatch(session, method, path, existing, headers, body, base, granted, agent) -> Response:
    if method in ("GET", "HEAD"):
        if existing is None:
            raise Problem(404, "No such resource.", kind="not-found")
        return _read(session, existing, headers, base, head=method == "HEAD")
    _check_preconditions(existing, headers)
    now = datetime.now(UTC)
    if method == "PUT":
        return _put(session, path, existing, headers, body, base, now)
    if method == "POST":
        return _post(session, path, existing, headers, body, base, now)
    if method == "PATCH":
        return _patch(session, path, existing, headers, body, base, now, granted, agent)
    store.delete(session, path)
    return Response(status_code=204)


def _check_preconditions(existing, headers: dict[str, str]) -> None:
    if_match, if_none_match = headers.get("if-match"), headers.get("if-none-match")
    if if_match is not None:
        tags = [tag.strip() for tag in if_match.split(",")]
        if existing is None or ("*" not in tags and existing.etag not in tags):
            raise Problem(412, "The resource is not in the state If-Match names.", kind="precondition-failed")
    if if_none_match is not None and existing is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        if "*" in tags or existing.etag in tags:
            raise Problem(412, "The resource exists (If-None-Match).", kind="precondition-failed")


def _read(session, row, headers: dict[str, str], base: str, *, head: bool) -> Response:
    if headers.get("if-none-match") and row.etag in [t.strip() for t in headers["if-none-match"].split(",")]:
        return Response(status_code=304, headers={"ETag": row.etag})
    url = base + row.path
    if is_container(row.path) or is_rdf(row.content_type):
        media = preferred_rdf_type(headers.get("accept"))
        if media is None:
            raise Problem(
                406, "This resource is RDF: ask for text/turtle or application/ld+json.", kind="not-acceptable"
            )
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
        headers={**_resource_headers(row.path, base), **served_headers(content_type)},
    )
    response.headers["ETag"] = row.etag
    response.headers["Last-Modified"] = format_datetime(row.modified, usegmt=True)
    response.headers["Vary"] = "Accept, Authorization, Origin"
    if head:
        response.headers["Content-Length"] = str(len(content))
    return response


def _resource_headers(path: str, base: str) -> dict[str, str]:
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
        links.append(f'<{base}{path}{store.ACL_SUFFIX}>; rel="acl"')
    return {**headers, "Link": ", ".join(links), "Allow": allow}


def _put(session, path, existing, headers, body, base, now) -> Response:
    content_type, content = stored_form(path, headers, body, base)
    if is_container(path):
        if existing is not None:
            existing.content, existing.etag, existing.modified = content, store.etag_of(TURTLE, content), now
            session.add(existing)
            return Response(status_code=205)
        if store.read(session, twin_of(path)) is not None:
            raise Problem(409, f"{twin_of(path)} exists; {path} cannot exist beside it.", kind="path-conflict")
        store.ensure_parents(session, path, now)
        store.write_container(session, path, now, content)
        return Response(status_code=201, headers={"Location": base + path})
    created = store.write(session, path, content_type, content, now)
    return Response(status_code=201 if created else 205, headers={"Location": base + path} if created else {})


def _post(session, path, existing, headers, body, base, now) -> Response:
    if not is_container(path):
        raise Problem(
            405,
            "POST creates members of a container; this is not one.",
            kind="method-not-allowed",
            headers={"Allow": "GET, HEAD, OPTIONS, PUT, PATCH, DELETE"},
        )
    if existing is None:
        raise Problem(404, "No such container.", kind="not-found")
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


def _patch(session, path, existing, headers, body, base, now, granted, agent) -> Response:
    try:
        patch = patches.parse_patch(body, headers.get("content-type", ""), base_iri=base + path)
    except patches.PatchError as error:
        raise _patch_problem(error) from error
    # Decided before the data is touched: a where-clause's 409 would otherwise tell someone
    # without Read what the resource holds (Solid Protocol §5.3.1).
    needed = {wac.Mode.APPEND} if patch.inserts_only else {wac.Mode.WRITE}
    if patch.needs_read:
        needed.add(wac.Mode.READ)
    if store.is_auxiliary(path):
        needed = {wac.Mode.CONTROL}
    if not needed <= granted:
        _refuse(agent)
    current = Graph()
    if existing is not None:
        if not (is_rdf(existing.content_type) or is_container(path)):
            raise Problem(415, "Only RDF resources can be patched.", kind="unsupported-media-type")
        current = parse(existing.content, TURTLE, base + path) if existing.content else Graph()
    elif is_container(path):
        raise Problem(404, "No such container.", kind="not-found")
    try:
        patched = patch.apply(current)
    except patches.PatchError as error:
        raise _patch_problem(error) from error
    content = turtle_bytes(patched)
    if existing is not None and is_container(path):
        existing.content, existing.etag, existing.modified = content, store.etag_of(TURTLE, content), now
        session.add(existing)
        return Response(status_code=205)
    created = store.write(session, path, TURTLE, content, now)
    return Response(status_code=201 if created else 205, headers={"Location": base + path} if created else {})


def _patch_problem(error) -> Problem:
    kinds = {400: "invalid-patch", 409: "patch-conflict", 415: "unsupported-media-type", 422: "unprocessable-patch"}
    return Problem(error.status, error.message, kind=error.kind or kinds.get(error.status, "invalid-patch"))
