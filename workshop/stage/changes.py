"""What changed in one step: the figures a panel showed before the step, against those it shows now.

A step is what happened since its boundary: the facilitator pressing "After this step", or a pause of
``STEP_GAP_SECONDS`` without any change (a facilitator who forgot to press it). The changes of a step
stay highlighted until the next step brings changes of its own, so a poll that finds nothing new keeps
them on the wall. Kept in memory, per panel (regime, persona or the population).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

STEP_GAP_SECONDS = 20.0
# a cell of a panel: (party key, attribute class key)
Cell = tuple[str, str]


@dataclass
class _Panel:
    shown: dict[Cell, str]
    before_step: dict[Cell, str]
    last_change: float
    step_ended: bool = False
    changed: frozenset[Cell] = field(default_factory=frozenset)


class ChangeTracker:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._panels: dict[Hashable, _Panel] = {}
        self._lock = threading.Lock()

    def observe(self, panel: Hashable, figures: Mapping[Cell, str]) -> frozenset[Cell]:
        """The cells of ``figures`` that differ from what the panel showed before the current step."""
        now = self._clock()
        with self._lock:
            state = self._panels.get(panel)
            if state is None:  # the first look: nothing to compare with
                self._panels[panel] = _Panel(dict(figures), dict(figures), now)
                return frozenset()
            if dict(figures) != state.shown:
                if state.step_ended or now - state.last_change > STEP_GAP_SECONDS:
                    state.before_step, state.step_ended = state.shown, False
                state.shown, state.last_change = dict(figures), now
                cells = state.before_step.keys() | state.shown.keys()
                state.changed = frozenset(c for c in cells if state.before_step.get(c) != state.shown.get(c))
            return state.changed

    def end_step(self, panel: Hashable) -> None:
        """The step is over: its changes stay shown, the next change starts a new step."""
        with self._lock:
            state = self._panels.get(panel)
            if state is not None:
                state.step_ended = True
