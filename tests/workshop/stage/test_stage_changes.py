"""What a panel marks as the step's changes (workshop/stage/changes.py)."""

from __future__ import annotations

from workshop.stage.changes import STEP_GAP_SECONDS, ChangeTracker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_steps_changes_stay_marked_until_the_next_step_changes_something() -> None:
    clock = Clock()
    tracker = ChangeTracker(clock)
    assert tracker.observe("panel", {("gateway", "name"): "clear"}) == frozenset()
    clock.now += 1
    first = tracker.observe("panel", {("gateway", "name"): "clear", ("fines", "payments"): "clear"})
    assert first == {("fines", "payments")}
    clock.now += 1  # the same step, a later write: added to the step's changes
    step = {("gateway", "name"): "clear", ("fines", "payments"): "clear", ("gateway", "payments"): "clear"}
    assert tracker.observe("panel", step) == {("fines", "payments"), ("gateway", "payments")}
    clock.now += 60  # polls that find nothing new keep the step on the wall
    assert tracker.observe("panel", step) == {("fines", "payments"), ("gateway", "payments")}
    tracker.end_step("panel")
    assert tracker.observe("panel", step) == {("fines", "payments"), ("gateway", "payments")}
    clock.now += 1
    later = {**step, ("gateway", "name"): "pseudonymised"}  # a state that changes is a change too
    assert tracker.observe("panel", later) == {("gateway", "name")}


def test_a_pause_longer_than_a_step_starts_a_new_one_without_the_button() -> None:
    clock = Clock()
    tracker = ChangeTracker(clock)
    tracker.observe("panel", {})
    clock.now += 1
    assert tracker.observe("panel", {("fines", "payments"): "clear"}) == {("fines", "payments")}
    clock.now += STEP_GAP_SECONDS + 1
    assert tracker.observe("panel", {("fines", "payments"): "clear", ("fines", "journeys"): "clear"}) == {
        ("fines", "journeys")
    }


def test_something_no_longer_held_is_a_change() -> None:
    tracker = ChangeTracker(Clock())
    tracker.observe("panel", {("pod", "diagnosis"): "sealed"})
    assert tracker.observe("panel", {}) == {("pod", "diagnosis")}


def test_panels_are_tracked_apart() -> None:
    tracker = ChangeTracker(Clock())
    tracker.observe(("rights", "li-wei"), {})
    tracker.observe(("rights", "wang-fang"), {})
    assert tracker.observe(("rights", "li-wei"), {("fines", "payments"): "clear"}) == {("fines", "payments")}
    assert tracker.observe(("rights", "wang-fang"), {}) == frozenset()
