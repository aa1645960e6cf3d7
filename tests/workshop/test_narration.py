"""The narrator's tally of a journey: steps run, prompts among them, time; and its summary table."""

from __future__ import annotations

import asyncio
import io
import re

from workshop.narration import Narrator, Step, StepFailed, Told


def step(title: str, *, asks: bool = False, fails: bool = False, seconds: float = 0.0) -> Step:
    async def run(state):
        await asyncio.sleep(seconds)
        state.setdefault("ran", []).append(title)
        if fails:
            raise StepFailed("the department said no")
        return [Told("super-app", title)]

    return Step(title, run, asks_citizen=asks)


def test_each_journey_is_tallied_as_run_and_summarised():
    out = io.StringIO()
    narrator = Narrator(out=out)
    done = asyncio.run(
        narrator.run(
            [step("log in", asks=True), step("pay", seconds=0.02), step("consent", asks=True)], {}, label="one (rights)"
        )
    )
    failed = asyncio.run(
        narrator.run(
            [step("log in", asks=True), step("book", fails=True), step("confirm", asks=True)],
            {},
            label="two (platform)",
        )
    )
    assert (done, failed) == (True, False)
    one, two = narrator.tallies
    assert (one.label, one.steps, one.prompts, one.succeeded) == ("one (rights)", 3, 2, True)
    assert one.milliseconds >= 20  # measured, the pay step's sleep included
    assert (two.steps, two.prompts, two.succeeded) == (2, 1, False)  # stopped at the failure: "confirm" never ran
    narrator.summary()
    lines = out.getvalue().splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("journey"))) :]
    assert table[1].split()[:4] == ["one", "(rights)", "3", "2"]
    assert table[2].split()[:4] == ["two", "(platform)", "2", "1"] and table[2].endswith("(failed)")


def test_no_journey_no_summary():
    out = io.StringIO()
    Narrator(out=out).summary()
    assert out.getvalue() == ""


def test_a_wait_the_walkthrough_needed_is_told_but_not_tallied():
    async def waits_for_a_code(state):
        await asyncio.sleep(0.05)
        state["waited_seconds"] = 0.04  # as common.device_tokens records its pause for a fresh one-time code
        return [Told("identity", "issued a token")]

    out = io.StringIO()
    narrator = Narrator(out=out)
    assert asyncio.run(narrator.run([Step("log in", waits_for_a_code, asks_citizen=True)], {}, label="x"))
    [tally] = narrator.tallies
    assert 5 <= tally.milliseconds < 40  # the 50 ms step, less the 40 ms it waited
    assert re.search(r"\(\d+ ms, after waiting 0\.\d s for the next one-time code\)", out.getvalue())
