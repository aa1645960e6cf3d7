"""A form sent twice is acted on once: the phone's "double tap" guard.

Each page that offers a state-changing form puts a fresh key in it (``new_form_key``). The first
send of that form runs the action and remembers where it led; a second send of the same form (a
double tap, a reload of the POST, the back button) waits for the first and is sent to the same page,
without acting again. Keys are the citizen's own: the same key from another session is another form.

The departments behind these forms offer no idempotency key of their own (each online consultation
issues a new prescription), so the gateway keeps the recent keys itself — in memory, bounded: a key
only has to outlive the seconds between two taps, and a restarted gateway has served no such page.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping

from kernel.problems import InvalidRequest

FORM_KEY_FIELD = "form_key"
# far more forms than a workshop's phones send in the minutes a double tap can span
REMEMBERED = 4096


def new_form_key() -> str:
    return f"app-{secrets.token_urlsafe(18)}"


def form_key_of(form: Mapping[str, str]) -> str:
    """The form's key: every form these pages serve has one (``InvalidRequest`` otherwise)."""
    key = form.get(FORM_KEY_FIELD, "")
    if not 8 <= len(key) <= 64:
        raise InvalidRequest("This form is not one of the app's: open the page again.")
    return key


class SubmittedForms:
    """Where each recently sent form led, by (citizen, form key)."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._remembered = remembered
        self._done: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def once(self, subject: str, form_key: str, act: Callable[[], Awaitable[str]]) -> str:
        """``act``'s result (the page it leads to) for the first send of the form; the same for every
        later send, without acting. A failed action is not remembered: sending again tries again."""
        key = (subject, form_key)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if key in self._done:
                    return self._done[key]
                result = await act()
                self._done[key] = result
                while len(self._done) > self._remembered:
                    self._done.popitem(last=False)
                return result
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]
