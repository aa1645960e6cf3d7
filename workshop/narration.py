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
        raise StepFailed(f"{response.request.method} {response.request.url.path} answered "
                         f"{response.status_code}: {detail}")
    return response.json() if response.content else None


@dataclass
class Narrator:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    colour: bool = False

    def _mark(self, ok: bool) -> str:
        mark = "✓" if ok else "✗"
        if not self.colour:
            return mark
        return f"\033[32m{mark}\033[0m" if ok else f"\033[31m{mark}\033[0m"

    def heading(self, text: str) -> None:
        print(f"\n== {text} ==", file=self.out, flush=True)

    async def run(self, steps: list[Step], state: dict[str, Any]) -> bool:
        """Every step in order; False (after saying why) at the first that fails."""
        width = len(str(len(steps)))
        for number, step in enumerate(steps, start=1):
            prefix = f"[{number:>{width}}/{len(steps)}]"
            print(f"{prefix} {step.title} ...", end="", file=self.out, flush=True)
            started = time.perf_counter()
            try:
                told = await step.run(state)
            except StepFailed as error:
                print(f" {self._mark(False)}\n      {error}", file=self.out, flush=True)
                return False
            except Exception as error:  # a walkthrough tells what went wrong; it never ends in a traceback
                print(f" {self._mark(False)}\n      {type(error).__name__}: {error}", file=self.out, flush=True)
                return False
            elapsed = (time.perf_counter() - started) * 1000
            print(f" {self._mark(True)} ({elapsed:.0f} ms)", file=self.out, flush=True)
            for line in told:
                print(f"      {line.party}: {line.what}", file=self.out, flush=True)
        return True
