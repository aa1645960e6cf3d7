"""The stage's trace collector (workshop/stage/traces.py): a real OTLP/HTTP export lands in the store,
and what is not one is refused — too large (413, gzip bombs included), not protobuf (415), garbage (400) —
while the store keeps at most its bound of spans, the oldest dropped."""

from __future__ import annotations

import asyncio
import gzip
import socket

import uvicorn
from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from kernel.problems import install_problem_handlers
from tests.fixtures.problems import assert_problem
from tests.fixtures.spans import collector, otlp_body
from workshop.stage.traces import SpanStore, StoredSpan, traces_router

# this helper's own port range (citygate up --base-port 9700 uses 9600, 9700-9707, 9800-9807, 9810)
COLLECTOR_PORT = 9795


def _spans(service: str = "rights/gateway", count: int = 2):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /courier/{department}", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.route", "/courier/{department}")
        root.set_attribute("http.response.status_code", 200)
        root.set_attribute("citygate.sealed_bytes", 1234)
        for _ in range(count - 1):
            with tracer.start_as_current_span("POST 127.0.0.1:8204", kind=SpanKind.CLIENT):
                pass
    provider.shutdown()
    return exporter.get_finished_spans()


def _stored(trace: int, span: int) -> StoredSpan:
    return StoredSpan(
        trace_id=f"{trace:032x}",
        span_id=f"{span:016x}",
        parent_span_id=None,
        service="platform/fines",
        name="GET /fines/{fine_id}",
        kind="server",
        start_ns=span,
        end_ns=span + 1,
    )


async def test_a_real_otlp_exporter_delivers_its_spans_to_the_collector():
    store = SpanStore()
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(traces_router(store))
    with socket.socket() as probe:  # the port is this helper's: say so clearly if someone holds it
        assert probe.connect_ex(("127.0.0.1", COLLECTOR_PORT)) != 0, f"port {COLLECTOR_PORT} is taken"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=COLLECTOR_PORT, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110  # uvicorn offers no event to wait on
                await asyncio.sleep(0.02)
        spans = _spans()
        exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{COLLECTOR_PORT}/v1/traces", timeout=5)
        result = await asyncio.to_thread(exporter.export, spans)
        exporter.shutdown()
    finally:
        server.should_exit = True
        await serving
    assert result.name == "SUCCESS"
    trace_id = format(spans[0].context.trace_id, "032x")
    stored = store.trace(trace_id)
    assert len(stored) == 2 and {span.kind for span in stored} == {"server", "client"}
    root = next(span for span in stored if span.kind == "server")
    assert root.service == "rights/gateway" and root.attributes["citygate.sealed_bytes"] == 1234
    assert [(summary.trace_id, summary.kind) for summary in store.traces(regime="rights")] == [(trace_id, "server")]
    assert store.traces(regime="platform") == []


async def test_the_collector_answers_an_otlp_response_and_serves_the_trace_as_calls():
    store, stage = collector()
    spans = _spans()
    trace_id = format(spans[0].context.trace_id, "032x")
    async with stage:
        posted = await stage.post(
            "/v1/traces", content=otlp_body(spans), headers={"content-type": "application/x-protobuf"}
        )
        assert posted.status_code == 200 and posted.headers["content-type"] == "application/x-protobuf"
        zipped = await stage.post(
            "/v1/traces",
            content=gzip.compress(otlp_body(_spans())),
            headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
        )
        assert zipped.status_code == 200
        root_start = min(span.start_time for span in spans) / 1e9
        listed = (await stage.get("/traces", params={"since": root_start - 0.001})).json()
        later = (await stage.get("/traces", params={"since": root_start + 0.001})).json()
        calls = (await stage.get(f"/traces/{trace_id}")).json()["calls"]
        assert_problem(await stage.get(f"/traces/{'0' * 32}"), 404, "trace-not-found")
        assert (await stage.get("/traces/not-a-trace-id")).status_code == 422
    assert trace_id in [summary["trace_id"] for summary in listed] and len(store) == 4
    assert trace_id not in [summary["trace_id"] for summary in later]
    assert calls[0]["from_party"] == "citizen's phone" and calls[0]["sealed_bytes"] == 1234
    assert calls[1]["route"] == "(no answer recorded)"  # a client span nobody's server span answered


async def test_what_is_not_an_otlp_protobuf_export_is_refused_before_the_store_sees_it():
    store, stage = collector()  # at most 64 KiB
    protobuf = {"content-type": "application/x-protobuf"}
    async with stage:
        assert_problem(await stage.post("/v1/traces", content=b"x" * (64 * 1024 + 1), headers=protobuf), 413)
        bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))  # 8 MiB of zeros in a few KiB
        assert len(bomb) < 64 * 1024
        assert_problem(
            await stage.post("/v1/traces", content=bomb, headers=protobuf | {"content-encoding": "gzip"}),
            413,
            "body-too-large",
        )
        assert_problem(await stage.post("/v1/traces", json={"resourceSpans": []}), 415, "unsupported-media-type")
        assert_problem(
            await stage.post("/v1/traces", content=b"not protobuf at all", headers=protobuf), 400, "undecodable-traces"
        )
        broken_zip = await stage.post(
            "/v1/traces", content=b"not gzip", headers=protobuf | {"content-encoding": "gzip"}
        )
        assert_problem(broken_zip, 400, "undecodable-traces")
        assert broken_zip.headers["content-type"] == "application/problem+json"
    assert len(store) == 0


def test_the_store_keeps_at_most_its_bound_the_oldest_dropped_first():
    store = SpanStore(max_spans=3)
    store.add([_stored(trace=1, span=1), _stored(trace=1, span=2), _stored(trace=2, span=3)])
    store.add([_stored(trace=3, span=4), _stored(trace=3, span=5)])
    assert len(store) == 3
    assert store.trace(f"{1:032x}") == []  # both of trace 1's spans were the oldest
    assert [span.span_id for span in store.trace(f"{3:032x}")] == [f"{4:016x}", f"{5:016x}"]
    assert {summary.trace_id for summary in store.traces()} == {f"{2:032x}", f"{3:032x}"}
    store.add([_stored(trace=2, span=3)])  # the same span again is not a second span
    assert len(store) == 3
