"""Which traces make a regime's current step: the phone's requests since the step began.

A step's traces are those whose root is a server span (a request from outside, the phone's) that
called on to other parties (a page or a courier relay that reached a department); a phone's request
for a style sheet or a key set, answered alone, draws nothing, and neither do the workshop's own tools:
the population runner (``User-Agent: citygate-populate/1``, workshop/population/user_agent.py) and the
demo reset (``citygate-reset/1``, workshop/reset.py).
The step begins when the facilitator presses "After this step"; until the next step's first call,
the last step's diagram stays shown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from kernel.regime import Regime
from workshop.population.user_agent import POPULATION_AGENT
from workshop.reset import RESET_AGENT
from workshop.stage.sequence import Call, calls_of, sequence_context
from workshop.stage.traces import SpanStore, TraceSummary

# the diagram under a phone draws at most this many calls (the step's latest)
MAX_CALLS = 14
# traces looked at per regime and step, newest first
MAX_TRACES = 20


class StepTraces:
    def __init__(self, store: SpanStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        # per regime: when the current step began, and when the one before it did (ns since the epoch)
        self._began: dict[Regime, int] = {}
        self._previous: dict[Regime, int] = {}

    def end_step(self) -> None:
        now = int(self._clock() * 1e9)
        with self._lock:
            for regime in Regime:
                self._previous[regime] = self._began.get(regime, 0)
                self._began[regime] = now

    def calls(self, regime: Regime) -> list[Call]:
        """The current step's calls in the order they started (the last step's while it has none)."""
        with self._lock:
            began, previous = self._began.get(regime, 0), self._previous.get(regime, 0)
        current = self._phone_traces(regime, began)
        if not current and began:
            current = [summary for summary in self._phone_traces(regime, previous) if summary.start * 1e9 < began]
        calls: list[Call] = []
        for summary in sorted(current, key=lambda summary: summary.start):
            calls.extend(calls_of(self._store.trace(summary.trace_id)))
        latest = calls[-MAX_CALLS:]
        return [call.model_copy(update={"number": number}) for number, call in enumerate(latest, start=1)]

    def sequence(self, regime: Regime) -> dict[str, Any] | None:
        """What ``stage/_sequence.html`` renders for the regime's step, or None before any call."""
        calls = self.calls(regime)
        if not calls:
            return None
        return sequence_context(
            calls, diagram_id=f"sequence-{regime.value}-step", title=f"The step's calls ({regime.value} regime)"
        )

    def _phone_traces(self, regime: Regime, since_ns: int) -> list[TraceSummary]:
        # every trace of the window, filtered before the newest are kept: the population's traffic
        # would otherwise crowd a phone's requests out
        recent = self._store.traces(regime=regime.value, since_ns=since_ns or None, limit=max(len(self._store), 1))
        phone = [
            summary
            for summary in recent
            if summary.kind == "server" and summary.spans > 1 and not from_a_workshop_tool(summary.user_agent)
        ]
        return phone[:MAX_TRACES]


# The workshop's own tools, whose requests are no phone's: the population runner and the demo reset.
WORKSHOP_AGENTS = (POPULATION_AGENT, RESET_AGENT)


def from_a_workshop_tool(user_agent: str | None) -> bool:
    return any((user_agent or "").startswith(f"{agent}/") for agent in WORKSHOP_AGENTS)
