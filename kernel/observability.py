"""JSON-line logs that carry the request id, and the middleware that sets it.

An incoming ``X-Request-ID`` and W3C ``traceparent`` are adopted (or created), kept in
context variables for the duration of the request, echoed on the response and attached by
the kernel client to every outgoing call, so one citizen request can be followed across
services by grepping one id. The access line names the route template, not the path: logs hold
no resident ids, plates or query values.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from datetime import UTC, datetime

from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.in_clear import (
    CLEAR_ATTRIBUTE,
    OPENED_ATTRIBUTE,
    SEALED_BYTES_ATTRIBUTE,
    clear_summary,
    opened_route,
    sealed_bytes,
)
from kernel.metrics import RequestMetrics
from kernel.tracing import Tracing, current_span_var, hex_span_id, hex_trace_id, remote_parent

REQUEST_ID_HEADER = "x-request-id"
TRACEPARENT_HEADER = "traceparent"
# OpenTelemetry's semantic convention for the User-Agent header's value, on a server span
USER_AGENT_ATTRIBUTE = "user_agent.original"
MAX_USER_AGENT_CHARS = 200
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
trace_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
service_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("service", default=None)


def outgoing_trace_headers() -> dict[str, str]:
    """Headers that continue the current request's trace on an outgoing call.

    The parent id is the current request's span when spans are recorded (the kernel client's
    transport replaces it with its own client span's, kernel/tracing.py; an in-process call such as
    the courier's keeps it), a new random one otherwise."""
    headers: dict[str, str] = {}
    request_id = request_id_var.get()
    if request_id:
        headers["X-Request-ID"] = request_id
    trace_id = trace_id_var.get() or secrets.token_hex(16)
    span = current_span_var.get()
    span_id = hex_span_id(span) if span is not None else secrets.token_hex(8)
    headers["traceparent"] = f"00-{trace_id}-{span_id}-01"
    return headers


# what the access log names when no route matched (the path itself may hold anything)
UNMATCHED_ROUTE = "(no route)"


def route_template(scope: Scope) -> str:
    """The matched route's template (``/vehicles/{plate}/fines``), never the concrete path nor the
    query: paths carry resident ids, plates and pod resource names. The router records the route
    it chose in the scope, which the middleware shares."""
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so it adds nothing measurable to the hot path."""

    def __init__(
        self, app: ASGIApp, service_name: str, tracing: Tracing | None = None, metrics: RequestMetrics | None = None
    ) -> None:
        self.app = app
        self.service_name = service_name
        self.metrics = metrics
        self.access_log = logging.getLogger("citygate.access")
        self.tracing = tracing or Tracing(service_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = incoming.get(REQUEST_ID_HEADER, "")
        if not _REQUEST_ID.match(request_id):
            request_id = secrets.token_hex(8)
        traceparent = incoming.get(TRACEPARENT_HEADER, "")
        tracer = self.tracing.tracer
        span: Span | None = None
        if tracer is not None:
            # named by its route once one matched (the path may hold anything)
            span = tracer.start_span(scope["method"], context=remote_parent(traceparent), kind=SpanKind.SERVER)
            trace_id = hex_trace_id(span)
        else:
            match = _TRACEPARENT.match(traceparent)
            trace_id = match.group(1) if match else secrets.token_hex(16)
        # also in the request's state: the 500 handler runs outside this middleware, once the
        # context variables are reset, and logs the error with these (kernel.problems)
        state = scope.setdefault("state", {})
        state["request_id"], state["trace_id"] = request_id, trace_id
        tokens = (request_id_var.set(request_id), trace_id_var.set(trace_id), service_var.set(self.service_name))
        span_token = current_span_var.set(span) if span is not None else None
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            route = route_template(scope)
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe(route, scope["method"], status_holder["status"], elapsed)
            self.access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": route,
                    "status": status_holder["status"],
                    "duration_ms": round(elapsed * 1000, 2),
                    "request_id": request_id,
                    "trace_id": trace_id,
                },
            )
            if span_token is not None:
                current_span_var.reset(span_token)
            for var, token in zip((request_id_var, trace_id_var, service_var), tokens, strict=True):
                var.reset(token)
            if span is not None:
                _end_server_span(span, scope, route, status_holder["status"])


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _end_server_span(span: Span, scope: Scope, route: str, status: int) -> None:
    span.update_name(f"{scope['method']} {route}")
    span.set_attribute("http.request.method", scope["method"])
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    span.set_attribute(CLEAR_ATTRIBUTE, clear_summary(scope))
    if agent := _header(scope, b"user-agent"):
        # who sent it, as the client says (the stage leaves the population runner's requests out of a
        # phone's step); bounded: the header is the caller's to fill
        span.set_attribute(USER_AGENT_ATTRIBUTE, agent[:MAX_USER_AGENT_CHARS])
    if (size := sealed_bytes(scope)) is not None:
        span.set_attribute(SEALED_BYTES_ATTRIBUTE, size)
    if (opened := opened_route(scope)) is not None:
        span.set_attribute(OPENED_ATTRIBUTE, opened)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()


_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    def __init__(self, process_service: str | None = None) -> None:
        super().__init__()
        self.process_service = process_service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": service_var.get() or self.process_service,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
            "trace_id": trace_id_var.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _not_an_unhandled_request_error(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Exception in ASGI application")


def configure_logging(level: str = "INFO", service: str | None = None) -> None:
    """Called by the process entry point (not by create_app): logging is per process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # our access line replaces uvicorn's; httpx would log every outgoing call at INFO
    logging.getLogger("uvicorn.access").disabled = True
    # the kernel's 500 handler has logged the error with its request id; uvicorn's copy has none
    logging.getLogger("uvicorn.error").addFilter(_not_an_unhandled_request_error)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
