"""The diagram under a phone: the calls of the phone's requests since the step began, drawn from
the spans the stage collected (workshop/stage/step_traces.py)."""

from __future__ import annotations

import secrets

from kernel.regime import Regime
from workshop.population.user_agent import POPULATION_USER_AGENT
from workshop.reset import RESET_USER_AGENT
from workshop.stage.step_traces import MAX_CALLS, StepTraces
from workshop.stage.traces import SpanStore, StoredSpan

SECOND = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def request(
    store: SpanStore, *, at: float, service: str, route: str, calls: tuple[str, ...] = (), agent: str = "Chrome/156"
) -> str:
    """A request from outside to ``service`` (a server span at the root) that called ``calls`` in turn."""
    trace = secrets.token_hex(16)
    root = secrets.token_hex(8)
    start = int(at * SECOND)
    spans = [
        StoredSpan(
            trace,
            root,
            None,
            service,
            f"GET {route}",
            "server",
            start,
            start + 5_000_000,
            {
                "http.route": route,
                "http.request.method": "GET",
                "http.response.status_code": 200,
                "user_agent.original": agent,
            },
        )
    ]
    regime = service.split("/")[0]
    for offset, callee in enumerate(calls, start=1):
        client, server = secrets.token_hex(8), secrets.token_hex(8)
        begin = start + offset * 1_000_000
        spans.append(StoredSpan(trace, client, root, service, "GET", "client", begin, begin + 500_000, {}))
        spans.append(
            StoredSpan(
                trace,
                server,
                client,
                f"{regime}/{callee}",
                "GET /x",
                "server",
                begin + 1,
                begin + 400_000,
                {
                    "http.route": f"/{callee}/x",
                    "http.request.method": "GET",
                    "http.response.status_code": 200,
                    "citygate.clear": "resident ID (in the path)",
                },
            )
        )
    store.add(spans)
    return trace


def test_only_the_phones_requests_that_reached_other_parties_are_drawn() -> None:
    store, clock = SpanStore(), Clock()
    steps = StepTraces(store, clock)
    request(store, at=1_000.1, service="platform/gateway", route="/assets/vendor/weui/weui.min.css")  # alone
    request(store, at=1_000.2, service="platform/gateway", route="/app/fines", calls=("fines",))
    worker = secrets.token_hex(16)  # a background worker's call: rooted at a client span
    store.add(
        [
            StoredSpan(
                worker,
                secrets.token_hex(8),
                None,
                "platform/fines",
                "POST",
                "client",
                int(1_000.3 * SECOND),
                int(1_000.4 * SECOND),
                {},
            )
        ]
    )
    request(store, at=1_000.5, service="rights/gateway", route="/courier/{department}", calls=("fines",))

    calls = steps.calls(Regime.PLATFORM)
    assert [(call.from_party, call.to_party, call.route) for call in calls] == [
        ("citizen's phone", "gateway", "/app/fines"),
        ("gateway", "fines", "/fines/x"),
    ]
    assert calls[1].clear == "resident ID (in the path)"
    assert [call.route for call in steps.calls(Regime.RIGHTS)] == ["/courier/{department}", "/fines/x"]


def test_a_step_shows_its_own_calls_and_the_last_steps_until_it_has_any() -> None:
    store, clock = SpanStore(), Clock()
    steps = StepTraces(store, clock)
    request(store, at=1_000.1, service="platform/gateway", route="/app/", calls=("identity",))
    clock.now = 1_001.0
    steps.end_step()
    # nothing yet in the new step: the diagram keeps the last step's calls on the wall
    assert [call.route for call in steps.calls(Regime.PLATFORM)] == ["/app/", "/identity/x"]
    request(store, at=1_001.5, service="platform/gateway", route="/app/fines", calls=("fines",))
    assert [call.route for call in steps.calls(Regime.PLATFORM)] == ["/app/fines", "/fines/x"]
    assert steps.sequence(Regime.RIGHTS) is None
    drawn = steps.sequence(Regime.PLATFORM)
    assert drawn is not None and "/app/fines" in drawn["svg"] and [c.number for c in drawn["calls"]] == [1, 2]


def test_a_long_step_draws_its_latest_calls_numbered_from_one() -> None:
    store, clock = SpanStore(), Clock()
    steps = StepTraces(store, clock)
    for index in range(MAX_CALLS):
        request(store, at=1_000 + index / 100, service="platform/gateway", route=f"/app/{index}", calls=("fines",))
    calls = steps.calls(Regime.PLATFORM)
    assert len(calls) == MAX_CALLS
    assert [call.number for call in calls] == list(range(1, MAX_CALLS + 1))
    assert calls[-1].route == "/fines/x" and calls[-2].route == f"/app/{MAX_CALLS - 1}"


def test_the_demo_reset_and_the_population_are_no_phones_step() -> None:
    store, clock = SpanStore(), Clock()
    steps = StepTraces(store, clock)
    request(
        store,
        at=1_000.1,
        service="rights/identity",
        route="/demo/reset",
        calls=("appointments",),
        agent=RESET_USER_AGENT,
    )
    request(
        store,
        at=1_000.2,
        service="rights/gateway",
        route="/city-services/fines",
        calls=("fines",),
        agent=POPULATION_USER_AGENT,
    )
    assert steps.calls(Regime.RIGHTS) == []
    request(store, at=1_000.3, service="rights/gateway", route="/courier/{department}", calls=("fines",))
    assert [call.route for call in steps.calls(Regime.RIGHTS)] == ["/courier/{department}", "/fines/x"]
