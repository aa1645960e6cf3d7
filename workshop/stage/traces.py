"""The stage's trace collector: the services' OpenTelemetry spans, received over OTLP/HTTP, kept in memory.

``POST /v1/traces`` takes what an OTLP/HTTP exporter sends (``application/x-protobuf``, an
``ExportTraceServiceRequest``; gzip allowed), ``GET /traces`` lists the recent traces by their root
span, and ``GET /traces/{trace_id}`` gives one trace as the calls between parties
(workshop/stage/sequence.py draws them). The store is bounded: at most ``max_spans`` spans, the
oldest dropped first, so a stage left running for a day keeps what a workshop needs and no more.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from pydantic import BaseModel

from kernel.limits import BodyTooLarge
from kernel.observability import USER_AGENT_ATTRIBUTE
from kernel.problems import Problem, problem_responses
from workshop.stage.sequence import Call, calls_of

PROTOBUF = "application/x-protobuf"
DEFAULT_MAX_SPANS = 20_000
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# attribute values longer than this are cut: a span says what a party got, in a few words
MAX_ATTRIBUTE_CHARS = 1_000
TRACE_ID_PATTERN = r"^[0-9a-f]{32}$"
SPAN_KINDS = {
    ProtoSpan.SPAN_KIND_SERVER: "server",
    ProtoSpan.SPAN_KIND_CLIENT: "client",
    ProtoSpan.SPAN_KIND_INTERNAL: "internal",
    ProtoSpan.SPAN_KIND_PRODUCER: "producer",
    ProtoSpan.SPAN_KIND_CONSUMER: "consumer",
}
AttributeValue = str | int | float | bool


class UnsupportedMediaType(Problem):
    status, kind = 415, "unsupported-media-type"


class UndecodableTraces(Problem):
    status, kind = 400, "undecodable-traces"


class TraceNotFound(Problem):
    status, kind = 404, "trace-not-found"

    def __init__(self) -> None:
        super().__init__("The stage holds no span of this trace (never received, or dropped as the oldest).")


@dataclass(frozen=True)
class StoredSpan:
    """One span as the store keeps it: ids as lower-case hex, times in nanoseconds since the epoch."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    service: str  # the resource's service.name: "<regime>/<service>"
    name: str
    kind: str  # "server", "client", ...
    start_ns: int
    end_ns: int
    attributes: dict[str, AttributeValue] = field(default_factory=dict)

    @property
    def regime(self) -> str:
        return self.service.split("/", 1)[0] if "/" in self.service else ""


class TraceSummary(BaseModel):
    trace_id: str
    regime: str
    service: str  # of the root span
    kind: str  # of the root span: "server" for a request (the phone's), "client" for a worker's or a seed's call
    name: str  # of the root span: "GET /city-services/fines"
    status: int | None
    start: float  # seconds since the epoch
    duration_ms: float
    spans: int
    user_agent: str | None = None  # of the root span's request (a phone's browser, the population runner)


class TraceCalls(BaseModel):
    trace_id: str
    calls: list[Call]


class SpanStore:
    """The last ``max_spans`` spans received, by trace; the oldest dropped first."""

    def __init__(self, max_spans: int = DEFAULT_MAX_SPANS) -> None:
        if max_spans < 1:
            raise ValueError("a store holds at least one span")
        self.max_spans = max_spans
        self._arrival: OrderedDict[tuple[str, str], StoredSpan] = OrderedDict()
        self._by_trace: dict[str, dict[str, StoredSpan]] = {}

    def __len__(self) -> int:
        return len(self._arrival)

    def add(self, spans: Iterable[StoredSpan]) -> None:
        for span in spans:
            key = (span.trace_id, span.span_id)
            self._arrival.pop(key, None)  # the same span sent again replaces itself
            self._arrival[key] = span
            self._by_trace.setdefault(span.trace_id, {})[span.span_id] = span
            while len(self._arrival) > self.max_spans:
                (trace_id, span_id), _ = self._arrival.popitem(last=False)
                of_trace = self._by_trace[trace_id]
                del of_trace[span_id]
                if not of_trace:
                    del self._by_trace[trace_id]

    def trace(self, trace_id: str) -> list[StoredSpan]:
        """The spans of one trace, in the order they started (empty when unknown)."""
        return sorted(self._by_trace.get(trace_id, {}).values(), key=lambda span: (span.start_ns, span.span_id))

    def traces(self, *, regime: str | None = None, since_ns: int | None = None, limit: int = 50) -> list[TraceSummary]:
        """The most recent traces first, each named by its root span (the earliest span whose parent
        the store does not hold); ``regime`` and ``since_ns`` filter on that root."""
        summaries = []
        for trace_id, spans in self._by_trace.items():
            root = root_span(list(spans.values()))
            if regime is not None and root.regime != regime:
                continue
            if since_ns is not None and root.start_ns < since_ns:
                continue
            status = root.attributes.get("http.response.status_code")
            agent = root.attributes.get(USER_AGENT_ATTRIBUTE)
            summaries.append(
                TraceSummary(
                    trace_id=trace_id,
                    regime=root.regime,
                    service=root.service,
                    kind=root.kind,
                    name=root.name,
                    status=status if isinstance(status, int) else None,
                    start=root.start_ns / 1e9,
                    duration_ms=round((root.end_ns - root.start_ns) / 1e6, 2),
                    spans=len(spans),
                    user_agent=agent if isinstance(agent, str) else None,
                )
            )
        summaries.sort(key=lambda summary: summary.start, reverse=True)
        return summaries[:limit]


def root_span(spans: list[StoredSpan]) -> StoredSpan:
    ids = {span.span_id for span in spans}
    roots = [span for span in spans if span.parent_span_id not in ids] or spans
    return min(roots, key=lambda span: (span.start_ns, span.span_id))


# --- OTLP protobuf -> StoredSpan ------------------------------------------------------------------


def _value(value: AnyValue) -> AttributeValue | None:
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value[:MAX_ATTRIBUTE_CHARS]
    if which in ("int_value", "double_value", "bool_value"):
        scalar: AttributeValue = getattr(value, which)
        return scalar
    return None  # arrays, maps and bytes say nothing the diagram shows


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, AttributeValue]:
    found = {}
    for pair in pairs:
        value = _value(pair.value)
        if value is not None:
            found[pair.key[:200]] = value
    return found


def decoded_spans(request: ExportTraceServiceRequest) -> tuple[list[StoredSpan], int]:
    """The request's well-formed spans, and how many were not (bad ids)."""
    spans, rejected = [], 0
    for resource_spans in request.resource_spans:
        service = str(_attributes(resource_spans.resource.attributes).get("service.name", "unknown"))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                parent = span.parent_span_id
                if len(span.trace_id) != 16 or len(span.span_id) != 8 or len(parent) not in (0, 8):
                    rejected += 1
                    continue
                spans.append(
                    StoredSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=parent.hex() if parent else None,
                        service=service,
                        name=span.name[:MAX_ATTRIBUTE_CHARS],
                        kind=SPAN_KINDS.get(span.kind, "unspecified"),
                        start_ns=span.start_time_unix_nano,
                        end_ns=max(span.end_time_unix_nano, span.start_time_unix_nano),
                        attributes=_attributes(span.attributes),
                    )
                )
    return spans, rejected


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge(limit)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        return _gunzipped(bytes(body), limit)
    return bytes(body)


def _gunzipped(body: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes unpacked: a small gzip body may unpack to gigabytes."""
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        unpacked = unpacker.decompress(body, limit + 1)
    except zlib.error as error:
        raise UndecodableTraces("The body is not valid gzip.") from error
    if len(unpacked) > limit:
        raise BodyTooLarge(limit)
    return unpacked


def traces_router(store: SpanStore, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> APIRouter:
    router = APIRouter(tags=["traces"])

    @router.post(
        "/v1/traces",
        summary="OTLP/HTTP trace export (protobuf): the services' spans",
        responses=problem_responses(BodyTooLarge, UnsupportedMediaType, UndecodableTraces),
        response_class=Response,
    )
    async def export(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != PROTOBUF:
            raise UnsupportedMediaType(f"Traces are accepted as {PROTOBUF} (OTLP/HTTP protobuf) only.")
        body = await _bounded_body(request, max_body_bytes)
        exported = ExportTraceServiceRequest()
        try:
            exported.ParseFromString(body)
        except DecodeError as error:
            raise UndecodableTraces("The body is not an OTLP ExportTraceServiceRequest.") from error
        spans, rejected = decoded_spans(exported)
        store.add(spans)
        answer = ExportTraceServiceResponse()
        if rejected:
            answer.partial_success.CopyFrom(
                ExportTracePartialSuccess(
                    rejected_spans=rejected, error_message="spans with malformed trace or span ids were dropped"
                )
            )
        return Response(answer.SerializeToString(), media_type=PROTOBUF)

    @router.get("/traces", summary="The recent traces, newest first, each named by its root span")
    async def recent_traces(
        regime: Annotated[str | None, Query(max_length=40)] = None,
        since: Annotated[
            float | None, Query(description="seconds since the epoch: roots started then or later", ge=0)
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[TraceSummary]:
        since_ns = int(since * 1e9) if since is not None else None
        return store.traces(regime=regime, since_ns=since_ns, limit=limit)

    @router.get(
        "/traces/{trace_id}",
        summary="One trace as the calls between parties, in the order they started",
        responses=problem_responses(TraceNotFound),
    )
    async def one_trace(trace_id: Annotated[str, Path(pattern=TRACE_ID_PATTERN)]) -> TraceCalls:
        spans = store.trace(trace_id)
        if not spans:
            raise TraceNotFound()
        return TraceCalls(trace_id=trace_id, calls=calls_of(spans))

    return router
