"""The Solid Protocol over HTTP: a citizen's pod, its resources and containers, one route per method.

Every request: the path is checked, the caller found (``pod.auth``: a citizen's app, a department,
or nobody); a department may only read under a consent (``pod.consent_gate``) or deposit a record
(``pod.deposits``); everyone else gets the protocol (``pod.protocol``) under the resources' access
control. Each method is its own operation, so the OpenAPI document names each once.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from kernel.problems import ArtefactExpired, InvalidArtefact, NoConsent, NotFound, Problem, problem_responses
from pod import consent_gate, deposits, protocol
from pod.auth import DEPOSIT, READ_UNDER_CONSENT, DepartmentCaller, PodCaller
from pod.dependencies import PodState, ResourcePath, StateDep
from pod.errors import (
    ArtefactRequired,
    ConsentUnavailable,
    ContainerNotEmpty,
    ContentTypeMissing,
    Forbidden,
    InvalidAcl,
    InvalidPatch,
    InvalidPath,
    InvalidRdf,
    MethodNotAllowed,
    NotAcceptable,
    OverlyComplexPatch,
    PatchDoesNotApply,
    PathConflict,
    PodBusy,
    PreconditionFailed,
    PurposeMissing,
    RemoteContextRefused,
    ResourceExists,
    SubjectMismatch,
    UnprocessablePatch,
    UnsupportedMediaType,
)

router = APIRouter(tags=["Solid protocol"])
PATH = "/pods/{rest:path}"
METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
WITH_BODY = ("PUT", "POST", "PATCH")

# what any request may be answered with; what only some methods may, below
EVERY_REQUEST: tuple[type[Problem], ...] = (InvalidPath, NotFound, Forbidden)
WRITE = (PreconditionFailed, PodBusy)
REPRESENTATION = (ContentTypeMissing, UnsupportedMediaType, InvalidRdf, RemoteContextRefused, InvalidAcl, PathConflict)
UNDER_CONSENT = (
    PurposeMissing,
    InvalidArtefact,
    ArtefactExpired,
    NoConsent,
    SubjectMismatch,
    ConsentUnavailable,
)
PATCHING = (InvalidPatch, PatchDoesNotApply, UnsupportedMediaType, UnprocessablePatch, OverlyComplexPatch, PathConflict)


async def _answer(request: Request, state: PodState, path: str, caller: str | DepartmentCaller | None) -> Response:
    if isinstance(caller, DepartmentCaller):
        return await _department_request(request, state, path, caller)
    body = await request.body() if request.method in WITH_BODY else b""
    return await run_in_threadpool(protocol.handle, state, request.method, path, caller, dict(request.headers), body)


async def _department_request(request: Request, state: PodState, path: str, caller: DepartmentCaller) -> Response:
    """A department reads under consent, or deposits a record under a legal basis; nothing else."""
    headers = dict(request.headers)
    if request.method in ("GET", "HEAD") and READ_UNDER_CONSENT in caller.permissions:
        return await consent_gate.read_under_consent(state, caller, path, headers, head=request.method == "HEAD")
    if request.method == "PUT" and DEPOSIT in caller.permissions:
        return await deposits.deposit(state, caller, path, headers, request.body)
    raise Forbidden("A department may read under a consent and deposit the records it issues, nothing else.")


async def resource(request: Request, rest: str, path: ResourcePath, caller: PodCaller, state: StateDep) -> Response:
    """Every method's endpoint: ``rest`` is the path inside ``/pods/`` (``path`` is all of it, checked)."""
    return await _answer(request, state, path, caller)


class _ResourceRoute(APIRoute):
    """One method of a resource. A method no route has is answered 405 naming every method there
    is, as when one route took them all (Starlette would name only the first route's)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in METHODS:
            raise HTTPException(405, headers={"Allow": ", ".join(METHODS)})
        await super().handle(scope, receive, send)


def _route(method: str, summary: str, *kinds: type[Problem]) -> None:
    router.add_api_route(
        PATH,
        resource,
        route_class_override=_ResourceRoute,
        methods=[method],
        operation_id=f"{method.lower()}_pod_resource",
        summary=summary,
        responses=problem_responses(*EVERY_REQUEST, *kinds),
    )


_route("GET", "Read a resource, or list a container (Solid Protocol)", NotAcceptable, *UNDER_CONSENT)
_route("HEAD", "A resource's headers, without its content (Solid Protocol)", NotAcceptable, *UNDER_CONSENT)
_route("OPTIONS", "What may be done with a resource, and by whom (Solid Protocol)")
_route(
    "PUT",
    "Create or replace a resource or container; a department deposits a record (Solid Protocol)",
    *WRITE,
    *REPRESENTATION,
    ArtefactRequired,
    ResourceExists,
    *UNDER_CONSENT,
)
_route("POST", "Create a member of a container (Solid Protocol)", *WRITE, *REPRESENTATION, MethodNotAllowed)
_route(
    "PATCH", "Change an RDF resource with N3 Patch or SPARQL Update (Solid Protocol)", *WRITE, *PATCHING, PathConflict
)
_route("DELETE", "Delete a resource, or an empty container (Solid Protocol)", *WRITE, ContainerNotEmpty)
