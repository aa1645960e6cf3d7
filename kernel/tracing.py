"""OpenTelemetry spans of every call between services: one tracer provider per app.

Not the global provider: the tests run many apps in one process, and each app's spans must name
their own service (``service.name`` = ``<regime>/<service>``). The spans are made by hand in the
kernel's own ASGI middleware (a server span per incoming request, kernel/observability.py) and in
the transport under the kernel's outgoing HTTP client (a client span per call, ``TracingTransport``),
with the trace id and parent span ids of the W3C ``traceparent`` the kernel already propagates:
the spans and the access log name one trace id per citizen request.

Nothing is recorded unless something wants the spans: an OTLP/HTTP endpoint in the settings
(``otlp_endpoint``) or a processor a test adds. Otherwise ``tracer`` is None, no provider exists
and the middleware and the transport each pay one attribute check.
"""

from __future__ import annotations

import contextvars
import re

import httpx
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    set_span_in_context,
)

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
INSTRUMENTATION_NAME = "citygate.kernel"

# The server span of the request being handled (set by the middleware): the parent of the client
# spans of the calls it makes, and the parent id its in-process self-calls name (the courier).
current_span_var: contextvars.ContextVar[Span | None] = contextvars.ContextVar("current_span", default=None)


def hex_trace_id(span: Span) -> str:
    return format(span.get_span_context().trace_id, "032x")


def hex_span_id(span: Span) -> str:
    return format(span.get_span_context().span_id, "016x")


def traceparent_of(span: Span) -> str:
    return f"00-{hex_trace_id(span)}-{hex_span_id(span)}-01"


def remote_parent(traceparent: str | None) -> Context | None:
    """The context a W3C ``traceparent`` names (None when absent or malformed: a new trace)."""
    match = TRACEPARENT.match(traceparent or "")
    if match is None:
        return None
    trace_id, span_id = int(match.group(1), 16), int(match.group(2), 16)
    if not trace_id or not span_id:
        return None
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return set_span_in_context(NonRecordingSpan(parent))


class Tracing:
    """One app's tracer, alive from its lifespan's start to its end (``start``/``stop``).

    A restarted app (the tests' mesh restarts the same app object) gets a new provider: a
    provider shut down stays shut down."""

    def __init__(self, service_name: str, otlp_endpoint: str | None = None) -> None:
        self.service_name = service_name
        self.otlp_endpoint = otlp_endpoint or None
        self.provider: TracerProvider | None = None
        self.tracer: Tracer | None = None
        self._extra_processors: list[SpanProcessor] = []

    @property
    def wanted(self) -> bool:
        return self.otlp_endpoint is not None or bool(self._extra_processors)

    def add_processor(self, processor: SpanProcessor) -> None:
        """Also hand the spans to ``processor`` (tests: an in-memory exporter); records spans from now on."""
        self._extra_processors.append(processor)
        if self.provider is not None:
            self.provider.add_span_processor(processor)

    def start(self) -> None:
        if not self.wanted or self.provider is not None:
            return
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: self.service_name}))
        if self.otlp_endpoint is not None:
            # imported only when exporting: it brings an HTTP stack of its own
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=self.otlp_endpoint)))
        for processor in self._extra_processors:
            provider.add_span_processor(processor)
        self.provider, self.tracer = provider, provider.get_tracer(INSTRUMENTATION_NAME)

    def stop(self) -> None:
        """Flush and end the export (BatchSpanProcessor's last batch goes out here)."""
        provider, self.provider, self.tracer = self.provider, None, None
        if provider is not None:
            provider.shutdown()


class TracingTransport(httpx.AsyncBaseTransport):
    """The kernel client's transport with a client span around each call; its ``traceparent`` names that span."""

    def __init__(self, inner: httpx.AsyncBaseTransport, tracing: Tracing) -> None:
        self.inner = inner
        self.tracing = tracing

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        tracer = self.tracing.tracer
        if tracer is None:
            return await self.inner.handle_async_request(request)
        parent = current_span_var.get()
        span = tracer.start_span(
            f"{request.method} {request.url.host}:{request.url.port}",
            # no current request (a worker, a seed): a trace of its own
            context=set_span_in_context(parent) if parent is not None else Context(),
            kind=SpanKind.CLIENT,
            # the address, never the path: paths carry resident ids and plates
            attributes={
                "http.request.method": request.method,
                "server.address": request.url.host,
                "server.port": request.url.port or 80,
            },
        )
        request.headers["traceparent"] = traceparent_of(span)
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException as error:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
            raise
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
