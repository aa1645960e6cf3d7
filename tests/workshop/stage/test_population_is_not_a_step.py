"""The population runner's traffic is no phone's step: `citygate up` sends 100 residents through the
journeys while the facilitator clicks, and the diagram under a phone must draw the phone's calls only.

The runner's requests say ``User-Agent: citygate-populate/1`` (workshop/population/user_agent.py), the
services record the agent on their server span (``user_agent.original``), and the stage leaves those
traces out of a step (workshop/stage/step_traces.py).
"""

from __future__ import annotations

import secrets
from contextlib import aclosing
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import ReadableSpan

from kernel.personas import DEMO_PASSWORD
from kernel.regime import Regime
from tests.fixtures.logins import CAR_OWNER
from tests.fixtures.mesh import Mesh
from tests.fixtures.spans import collector, otlp_body, record_spans, service_of
from workshop.population.user_agent import POPULATION_USER_AGENT, PopulationTransport, from_population
from workshop.stage.step_traces import MAX_TRACES, StepTraces
from workshop.stage.traces import AttributeValue, SpanStore, StoredSpan
from workshop.super_app import log_in_to_super_app

PHONE_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120 citygate-test"


def test_only_the_population_runners_agent_counts_as_the_population() -> None:
    assert from_population(POPULATION_USER_AGENT)
    assert not from_population(PHONE_USER_AGENT)
    assert not from_population(None) and not from_population("")
    assert not from_population("citygate-populated/1 Mozilla")  # the product name, not a prefix of it


async def test_the_runners_transport_labels_every_request_and_outlives_its_clients() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["user-agent"])
        return httpx.Response(204)

    transport = PopulationTransport(httpx.MockTransport(answer))
    for _ in range(2):  # each journey opens (and closes) its own client on the one transport
        async with httpx.AsyncClient(transport=transport, headers={"User-Agent": "other"}) as client:
            assert (await client.get("http://127.0.0.1:1/x")).status_code == 204
    assert seen == [POPULATION_USER_AGENT, POPULATION_USER_AGENT]
    await transport.close()


async def lookup_fines_as(mesh: Mesh, transport: httpx.AsyncBaseTransport, user_agent: str) -> None:
    async with aclosing(
        httpx.AsyncClient(transport=transport, base_url=mesh.urls["gateway"], headers={"User-Agent": user_agent})
    ) as browser:
        await log_in_to_super_app(browser, mesh.urls["gateway"], username=CAR_OWNER.handle, password=DEMO_PASSWORD)
        answer = await browser.get("/city-services/fines")
        assert answer.status_code == 200, answer.text


async def calls_drawn(spans: list[ReadableSpan]) -> list[tuple[str, str]]:
    """What the stage draws for the platform phone's step once ``spans`` reached its collector."""
    store, stage = collector()
    async with stage:
        answer = await stage.post(
            "/v1/traces", content=otlp_body(spans), headers={"content-type": "application/x-protobuf"}
        )
        assert answer.status_code == 200, answer.text
    return [(call.from_party, call.to_party) for call in StepTraces(store).calls(Regime.PLATFORM)]


async def test_the_stage_draws_the_phones_calls_not_the_populations(tmp_path: Path) -> None:
    async with Mesh(Regime.PLATFORM, tmp_path) as mesh:
        exporter = record_spans(mesh)
        await lookup_fines_as(mesh, PopulationTransport(mesh.transport), "replaced: the runner says who it is")
        population_spans = list(exporter.get_finished_spans())
        exporter.clear()
        await lookup_fines_as(mesh, mesh.transport, PHONE_USER_AGENT)
        phone_spans = list(exporter.get_finished_spans())

    def agents(spans: list[ReadableSpan]) -> set[object]:
        """The agent each request from outside to the gateway named, as its server span recorded it."""
        return {
            span.attributes.get("user_agent.original")
            for span in spans
            if service_of(span) == "platform/gateway" and span.parent is None and span.attributes
        }

    assert agents(population_spans) == {POPULATION_USER_AGENT}
    assert agents(phone_spans) == {PHONE_USER_AGENT}
    # the same lookup: drawn when the phone made it, left out when the population runner did
    assert await calls_drawn(population_spans) == []
    phone_calls = await calls_drawn(phone_spans)
    assert phone_calls, "the phone's lookup is drawn"
    assert any(callee.endswith("fines") for _, callee in phone_calls), phone_calls


def test_a_busy_population_does_not_crowd_the_phones_request_out() -> None:
    store = SpanStore()
    phone = request(store, at=1_000.0, agent=PHONE_USER_AGENT)
    for n in range(3 * MAX_TRACES):  # the population keeps calling after the phone's request
        request(store, at=1_000.1 + n / 100, agent=POPULATION_USER_AGENT)
    assert [call.span_id for call in StepTraces(store, lambda: 1_001.0).calls(Regime.PLATFORM)] == [
        span.span_id for span in store.trace(phone) if span.kind == "server"
    ]


def request(store: SpanStore, *, at: float, agent: str) -> str:
    """A request from outside to the gateway, sent by ``agent``, that called the traffic police."""
    trace, root, client, server = secrets.token_hex(16), *(secrets.token_hex(8) for _ in range(3))
    start = int(at * 1e9)
    attributes: dict[str, AttributeValue] = {"http.route": "/city-services/fines", "user_agent.original": agent}
    store.add(
        [
            StoredSpan(
                trace,
                root,
                None,
                "platform/gateway",
                "GET /city-services/fines",
                "server",
                start,
                start + 9,
                attributes,
            ),
            StoredSpan(trace, client, root, "platform/gateway", "GET", "client", start + 1, start + 8),
            StoredSpan(trace, server, client, "platform/fines", "GET /citizens", "server", start + 2, start + 7),
        ]
    )
    return trace
