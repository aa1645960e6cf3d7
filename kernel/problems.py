"""RFC 9457 problem details: the only error shape any citygate service answers with."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

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


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemDetails, "content": {PROBLEM_MEDIA_TYPE: {}}} for code in (422, "default")
}


class Problem(Exception):
    """Raise from domain code or routes; rendered as problem+json with ``status``."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        kind: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.type = f"{PROBLEM_TYPE_PREFIX}{kind}" if kind else "about:blank"
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers
        self.extensions = extensions


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


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(
        request,
        exc.status,
        detail=exc.detail,
        type_=exc.type,
        title=exc.title,
        headers=exc.headers,
        **exc.extensions,
    )


async def _on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _phrase(exc.status_code) else None
    return problem_response(request, exc.status_code, detail=detail, headers=getattr(exc, "headers", None))


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"location": list(error.get("loc", ())), "message": error.get("msg"), "type": error.get("type")}
        for error in exc.errors()
    ]
    return problem_response(
        request,
        422,
        detail="The request does not match the expected schema.",
        type_=f"{PROBLEM_TYPE_PREFIX}invalid-request",
        errors=errors,
    )


async def _on_value_out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot store (an integer beyond SQLite's 64 bits or a PostgreSQL
    column's range, a string too long for its column) is the request's fault, never a 500.
    Routes bound their inputs; this is the net under what one forgot. Neither the value nor the
    driver's text (the SQL, the column) is answered or logged."""
    log.warning("refused a value the database cannot store (%s)", type(exc).__name__)
    return problem_response(
        request,
        422,
        detail="A value in the request is outside what this service can store.",
        type_=f"{PROBLEM_TYPE_PREFIX}value-out-of-range",
    )


async def _on_pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    """Every database connection stayed busy for the pool's whole timeout (a burst of writers waiting
    on one row's lock, a machine under load): the service is overloaded, not broken, so the client is
    told to retry (503 with Retry-After), never handed a 500."""
    log.warning("no database connection became free in time")
    return problem_response(
        request,
        503,
        detail="The service is too busy to answer now; nothing was changed. Try again shortly.",
        type_=f"{PROBLEM_TYPE_PREFIX}service-busy",
        headers={"Retry-After": "1"},
    )


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
