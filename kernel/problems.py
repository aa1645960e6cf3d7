"""RFC 9457 problem details: the only error shape any citygate service answers with.

A problem kind is a class. Each service declares its kinds in its own ``errors.py``; the kinds every
service shares (not found, idempotency keys, an upstream that fails, the request's own mistakes) are
declared here. ``kind_of`` is the one place a received problem's ``type`` URI is parsed back into a
kind; ``problem_responses`` lists a route's kinds in its OpenAPI ``responses``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:citygate:problem:"
log = logging.getLogger("citygate.problems")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; services may add extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class Problem(Exception):
    """A problem kind: subclass it once per kind and raise instances; rendered as problem+json.

    ``status``, ``kind`` (the suffix of the ``type`` URI ``urn:citygate:problem:<kind>``; None is
    ``about:blank``, a bare HTTP status) and ``title`` are class attributes. An instance carries this
    occurrence's ``detail``, response ``headers`` and extension members. A subclass that declares a
    ``kind`` is registered under it and its home package (``problem_class``, ``_register`` for the rules).
    """

    status: int = 500
    kind: str | None = None
    title: str | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if title is not None:
            self.title = title
        super().__init__(detail or self.phrase)
        self.detail = detail
        self.headers = headers
        self.extensions = extensions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is not None:
            _register(kind, cls)

    @property
    def type(self) -> str:
        return type_uri(self.kind)

    @property
    def phrase(self) -> str:
        return self.title or _phrase(self.status)


# kind -> {home: class}. A home is the service package (or the kernel) that declares the class.
_CATALOGUE: dict[str, dict[str, type[Problem]]] = {}


def home_of(cls: type) -> str:
    """The package a problem class belongs to: ``services.fines`` for a department, else the top package."""
    parts = cls.__module__.split(".")
    return ".".join(parts[:2]) if parts[0] == "services" and len(parts) > 1 else parts[0]


def _register(kind: str, cls: type[Problem]) -> None:
    """One class per kind in each home. Services are independent (none imports another), so two may
    each declare a kind they both answer (the gateway passes on the department's ``fine-not-found``);
    a kind keeps one status everywhere, and a kind the kernel declares is the kernel's alone."""
    homes = _CATALOGUE.setdefault(kind, {})
    home = home_of(cls)
    for other_home, other in homes.items():
        same = (other.__module__, other.__qualname__) == (cls.__module__, cls.__qualname__)
        if other_home == home and not same:
            raise TypeError(f"problem kind {kind!r} is already {other.__module__}.{other.__qualname__}")
        if other_home != home and (other.status != cls.status or "kernel" in (home, other_home)):
            raise TypeError(
                f"problem kind {kind!r} of {cls.__module__}.{cls.__qualname__} clashes with "
                f"{other.__module__}.{other.__qualname__} (a shared kind lives in the kernel; a kind has one status)"
            )
    homes[home] = cls


def type_uri(kind: str | None) -> str:
    return f"{PROBLEM_TYPE_PREFIX}{kind}" if kind else "about:blank"


def kind_of(problem_type: object) -> str | None:
    """The kind a problem's ``type`` names (``urn:citygate:problem:<kind>``); None for any other URI
    (``about:blank``, another vocabulary) and for a value that is not a string."""
    if not isinstance(problem_type, str) or not problem_type.startswith(PROBLEM_TYPE_PREFIX):
        return None
    return problem_type.removeprefix(PROBLEM_TYPE_PREFIX) or None


def problem_class(kind: str, home: str = "kernel") -> type[Problem] | None:
    """The class ``home`` declares for a kind (modules imported in this process); by default the kernel's."""
    return _CATALOGUE.get(kind, {}).get(home)


def problem_classes(kind: str) -> tuple[type[Problem], ...]:
    """Every class declared for a kind, one per home."""
    return tuple(_CATALOGUE.get(kind, {}).values())


def problem_responses(*kinds: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """A route's OpenAPI ``responses``: each status it answers with a problem, and the kinds under it.

    The kinds any route can answer (``ANY_ROUTE``) are always included: a route's entry for a status
    replaces the app-wide one in FastAPI, so they must be listed beside the route's own."""
    by_status: dict[int, set[str]] = {}
    for cls in (*ANY_ROUTE, *kinds):
        by_status.setdefault(cls.status, set()).add(type_uri(cls.kind))
    return {
        status: {
            "model": ProblemDetails,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": f"{_phrase(status)}: " + ", ".join(f"`{uri}`" for uri in sorted(uris)),
        }
        for status, uris in sorted(by_status.items())
    }


# What a dependency can answer with. A route lists its own kinds; the kinds of the dependencies it
# uses (the token checks, the citizen check) are added to its OpenAPI by ``build_service_app``, so a
# route cannot forget them. Declared with ``@answers(...)`` on the dependency (function or class).
_DEPENDENCY_PROBLEMS: dict[object, tuple[type[Problem], ...]] = {}
DependencyT = TypeVar("DependencyT")


def answers(*kinds: type[Problem]) -> Callable[[DependencyT], DependencyT]:
    """Declare the problems a dependency (a function, or a class whose instances are the dependency) raises."""

    def declare(dependency: DependencyT) -> DependencyT:
        _DEPENDENCY_PROBLEMS[dependency] = kinds
        return dependency

    return declare


def dependency_problems(call: object) -> tuple[type[Problem], ...]:
    """What ``answers`` declared for a dependency callable (or for the class of a callable instance)."""
    declared = _DEPENDENCY_PROBLEMS.get(call)
    if declared is None:
        declared = _DEPENDENCY_PROBLEMS.get(type(call), ())
    return declared


def with_problems(responses: dict[int | str, dict[str, Any]], *kinds: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """``responses`` with ``kinds`` added to the entry of their status (kinds already listed kept)."""
    merged = dict(responses)
    for status, entry in problem_responses(*kinds).items():
        existing = merged.get(status) or merged.get(str(status))
        if existing is None:
            merged[status] = entry
            continue
        key = status if status in merged else str(status)
        described = str(existing.get("description", ""))
        listed = set(_LISTED.findall(described))
        if not listed:  # a description of the route's own: kept, the kinds after it
            merged[key] = {**existing, "description": f"{described} {entry['description']}".strip()}
            continue
        uris = listed | set(_LISTED.findall(entry["description"]))
        merged[key] = {
            **existing,
            "description": f"{_phrase(int(status))}: " + ", ".join(f"`{u}`" for u in sorted(uris)),
        }
    return merged


_LISTED = re.compile(r"`([^`]+)`")


# The kinds every service shares.


class InvalidRequest(Problem):
    """The request does not match the route's schema (FastAPI's validation)."""

    status, kind = 422, "invalid-request"


class ValueOutOfRange(Problem):
    status, kind = 422, "value-out-of-range"


class ServiceBusy(Problem):
    status, kind = 503, "service-busy"


class DatabaseUnavailable(Problem):
    status, kind = 503, "database-unavailable"


class Seeding(Problem):
    status, kind = 503, "seeding"


class SeedFailed(Problem):
    status, kind = 503, "seed-failed"


class NotFound(Problem):
    """A resource that does not exist, or that the caller may not learn exists."""

    status, kind = 404, "not-found"


class ResidentNotEnrolled(Problem):
    """A department's operator names a resident the identity service has not enrolled, so the department
    cannot learn the subject its sector knows them by (``ServiceClient.enrolled_subject``)."""

    status, kind = 422, "resident-not-enrolled"


# Reads and deposits under consent (kernel.consent_headers): the consent service answers these, the
# pod answers them too (its own, or the consent service's passed on) and departments react to them.


class InvalidArtefact(Problem):
    """The receipt or artefact presented is not one the consent service signed, knows or can match."""

    status, kind = 422, "invalid-artefact"


class ArtefactExpired(Problem):
    """The receipt presented is signed, but its validity has ended."""

    status, kind = 422, "artefact-expired"


class NoConsent(Problem):
    """Neither a consent nor a legal basis covers this use of the citizen's data."""

    status, kind = 403, "no-consent"


class IdempotencyKeyMissing(Problem):
    status, kind = 400, "idempotency-key-missing"


class InvalidIdempotencyKey(Problem):
    status, kind = 400, "invalid-idempotency-key"


class IdempotencyKeyReused(Problem):
    """The same key again with a different request: the first request's outcome stands."""

    status, kind = 409, "idempotency-key-reused"


class UpstreamError(Problem):
    """A called service answered something other than a problem this service can pass on."""

    status, kind = 502, "upstream-error"


class UpstreamUnavailable(Problem):
    """A called service that cannot be reached, or did not answer in time: catch this one; it is
    raised as one of the two kinds below (``kernel.client.upstream_unavailable`` picks which), and
    those two are what a route lists in its ``responses``."""


class UpstreamUnreachable(UpstreamUnavailable):
    status, kind = 503, "upstream-unavailable"


class UpstreamTimeout(UpstreamUnavailable):
    status, kind = 504, "upstream-timeout"


# Every route can answer these; a route adds its own kinds with ``problem_responses``.
ANY_ROUTE: tuple[type[Problem], ...] = (InvalidRequest, ValueOutOfRange, ServiceBusy)
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(),
    "default": {"model": ProblemDetails, "content": {PROBLEM_MEDIA_TYPE: {}}},
}


def problem_response(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    type_: str = "about:blank",
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "instance": request.url.path,
    }
    if detail is not None:
        body["detail"] = detail
    body.update(extensions)
    headers = dict(headers or {})
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
        # 500s are rendered outside the request-id middleware, so set the header here too.
        headers["X-Request-ID"] = request_id
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def render(request: Request, problem: Problem) -> JSONResponse:
    return problem_response(
        request,
        problem.status,
        detail=problem.detail,
        type_=problem.type,
        title=problem.phrase,
        headers=problem.headers,
        **problem.extensions,
    )


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return render(request, exc)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _phrase(exc.status_code) else None
    return problem_response(request, exc.status_code, detail=detail, headers=getattr(exc, "headers", None))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": list(error.get("loc", ())), "message": error.get("msg"), "type": error.get("type")}
        for error in exc.errors()
    ]
    problem = InvalidRequest("The request does not match the expected schema.", errors=errors)
    return render(request, problem)


async def _on_value_out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot store (an integer beyond SQLite's 64 bits or a PostgreSQL
    column's range, a string too long for its column) is the request's fault, never a 500.
    Routes bound their inputs; this is the net under what one forgot. Neither the value nor the
    driver's text (the SQL, the column) is answered or logged."""
    log.warning("refused a value the database cannot store (%s)", type(exc).__name__)
    return render(request, ValueOutOfRange("A value in the request is outside what this service can store."))


async def _on_pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    """Every database connection stayed busy for the pool's whole timeout (a burst of writers waiting
    on one row's lock, a machine under load): the service is overloaded, not broken, so the client is
    told to retry (503 with Retry-After), never handed a 500."""
    log.warning("no database connection became free in time")
    busy = ServiceBusy(
        "The service is too busy to answer now; nothing was changed. Try again shortly.",
        headers={"Retry-After": "1"},
    )
    return render(request, busy)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Rendered outside the request-context middleware, whose context variables are reset by now:
    # the ids come from the request's state, so the log line names the id the body carries.
    ids = {name: getattr(request.state, name, None) for name in ("request_id", "trace_id")}
    log.exception("unhandled error", exc_info=exc, extra=ids)
    return problem_response(request, 500, detail="An unexpected error occurred; it has been logged.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    # SQLAlchemy's DataError wraps the driver's (psycopg's NumericValueOutOfRange, StringDataRightTruncation…);
    # SQLite's driver raises a bare OverflowError for an integer beyond 64 bits
    for out_of_range in (DataError, OverflowError):
        app.add_exception_handler(out_of_range, _on_value_out_of_range)
    app.add_exception_handler(PoolTimeout, _on_pool_exhausted)
    app.add_exception_handler(Exception, _on_unexpected)
