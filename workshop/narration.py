"""How a walkthrough tells its story: numbered steps in plain words, who called whom, and what
each party received — with a progress mark per step and a verdict at the end.

A journey is a list of :class:`Step`; each step's ``run`` does the real HTTP calls and returns
the lines to print under it (``Told``: which party learned what). A failing step stops the
journey: the narrator prints why (a problem's detail when there is one) and the walkthrough
exits non-zero.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx


@dataclass(frozen=True)
class Told:
    """One line under a step: ``party`` received (or learned, or stored) ``what``."""

    party: str
    what: str


@dataclass(frozen=True)
class Step:
    title: str  # what the citizen (or a party) does, in plain words
    run: Callable[[dict[str, Any]], Awaitable[list[Told]]]  # gets the journey's shared state
    # The citizen has to answer something here: a login (password, second factor, the platform's
    # user agreement), a consent prompt, a confirmation, a revocation. Counted in the summary.
    asks_citizen: bool = False


@dataclass(frozen=True)
class Tally:
    """What one journey cost the citizen, as run: steps, prompts and the time the steps took."""

    label: str
    steps: int
    prompts: int
    milliseconds: float
    succeeded: bool


# Seconds a step spent waiting for the walkthrough's own sake, which it adds to the journey's state.
WAITED_SECONDS = "waited_seconds"
# Set by a step that may ask the citizen something but this time did not (her app still held what
# it needed): its prompt is not counted.
NOT_ASKED = "not_asked"


class StepFailed(Exception):
    """A step's call did not answer as the journey needs."""


def expect(response: httpx.Response, *statuses: int) -> Any:
    """The response's JSON when its status is one of ``statuses``; otherwise the step fails with
    the problem's detail (RFC 9457) or the body."""
    if response.status_code not in statuses:
        try:
            body = response.json()
            detail = body.get("detail") or body.get("title") or body
        except ValueError:
            detail = response.text[:300]
        raise StepFailed(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}: {detail}"
        )
    return response.json() if response.content else None


@dataclass
class Narrator:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    colour: bool = False
    tallies: list[Tally] = field(default_factory=list)

    def _mark(self, ok: bool) -> str:
        mark = "✓" if ok else "✗"
        if not self.colour:
            return mark
        return f"\033[32m{mark}\033[0m" if ok else f"\033[31m{mark}\033[0m"

    def heading(self, text: str) -> None:
        print(f"\n== {text} ==", file=self.out, flush=True)

    async def run(self, steps: list[Step], state: dict[str, Any], *, label: str = "") -> bool:
        """Every step in order; False (after saying why) at the first that fails. The journey's
        tally (steps run, prompts among them, time) is kept for ``summary``."""
        width = len(str(len(steps)))
        ran, prompts, total_ms = 0, 0, 0.0
        for number, step in enumerate(steps, start=1):
            prefix = f"[{number:>{width}}/{len(steps)}]"
            print(f"{prefix} {step.title} ...", end="", file=self.out, flush=True)
            started = time.perf_counter()
            ran += 1
            failure: str | None
            try:
                told = await step.run(state)
            except StepFailed as error:
                failure = str(error)
            except Exception as error:  # a walkthrough tells what went wrong; it never ends in a traceback
                failure = f"{type(error).__name__}: {error}"
            else:
                failure = None
            # A pause the walkthrough itself needed (the persona's next one-time code, because the
            # journey before used this one) is no cost of the regime: told, not tallied.
            prompts += step.asks_citizen and not state.pop(NOT_ASKED, False)
            waited_ms = state.pop(WAITED_SECONDS, 0.0) * 1000
            elapsed = (time.perf_counter() - started) * 1000 - waited_ms
            total_ms += elapsed
            if failure is not None:
                print(f" {self._mark(False)}\n      {failure}", file=self.out, flush=True)
                self.tallies.append(Tally(label, ran, prompts, total_ms, succeeded=False))
                return False
            waited = f", after waiting {waited_ms / 1000:.1f} s for the next one-time code" if waited_ms else ""
            print(f" {self._mark(True)} ({elapsed:.0f} ms{waited})", file=self.out, flush=True)
            for line in told:
                print(f"      {line.party}: {line.what}", file=self.out, flush=True)
        self.tallies.append(Tally(label, ran, prompts, total_ms, succeeded=True))
        return True

    def summary(self) -> None:
        """One line per journey run: steps, how many asked the citizen something, and the time taken."""
        if not self.tallies:
            return
        width = max(len("journey"), *(len(tally.label) for tally in self.tallies))
        print(f"\n{'journey':<{width}}  {'steps':>5}  {'prompts':>7}  {'time':>8}", file=self.out)
        for tally in self.tallies:
            verdict = "" if tally.succeeded else "  (failed)"
            print(
                f"{tally.label:<{width}}  {tally.steps:>5}  {tally.prompts:>7}  {tally.milliseconds:>6.0f} ms{verdict}",
                file=self.out,
            )
        print(
            "prompts: steps where the citizen answers something (a login, the user agreement, a consent, "
            "a confirmation, a revocation); time: the steps' own, measured now (waits for a fresh one-time "
            "code, needed only because journeys run back to back, left out)",
            file=self.out,
            flush=True,
        )
