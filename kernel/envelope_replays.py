"""The courier's replay memory: a sealed request is relayed once (kernel/courier.py).

One process per service (``make up``) remembers in memory (``SeenEnvelopes``). Replicas of a service
must agree, or an envelope refused by one would be relayed by the next: given ``shared_state_url``
(``redis://…``), each remembers in Redis (``SharedSeenEnvelopes``: one ``SET … NX EX``, atomic across
replicas). A replica that cannot reach Redis refuses to relay (503 ``replay-memory-unavailable``)
rather than relay what it cannot tell apart from a replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from joserfc.jwk import ECKey
from redis.exceptions import RedisError

from kernel.problems import Problem
from kernel.shared_state import shared_key, shared_state_client

# How long a sealed request stays acceptable (and its reply key remembered), and the clock skew
# tolerated between the citizen's device and the department.
MAX_ENVELOPE_AGE = 120
CLOCK_SKEW = 30
REMEMBERED_SECONDS = MAX_ENVELOPE_AGE + CLOCK_SKEW


class ReplayMemoryUnavailable(Problem):
    """The replicas' shared replay memory does not answer: nothing is relayed until it does."""

    status, kind = 503, "replay-memory-unavailable"

    def __init__(self) -> None:
        super().__init__(
            "The courier cannot tell whether this sealed request was relayed before, so it relays "
            "nothing for now. Send it again in a moment."
        )


class EnvelopeMemory(Protocol):
    async def first_time(self, reply_key: ECKey, *, now: float) -> bool:
        """True the first time this reply key is seen; it is then remembered while its envelope is acceptable."""
        ...

    async def close(self) -> None: ...


@dataclass
class SeenEnvelopes:
    """The reply keys of the requests relayed in the last ``REMEMBERED_SECONDS`` (one app's memory)."""

    _until: dict[str, float] = field(default_factory=dict)

    async def first_time(self, reply_key: ECKey, *, now: float) -> bool:
        # Entries go in with the same lifetime, so the oldest are first: forget from the front only,
        # not by scanning every remembered key on each relayed request.
        while self._until and (oldest := next(iter(self._until))) and self._until[oldest] < now:
            del self._until[oldest]
        thumbprint = reply_key.thumbprint()
        if thumbprint in self._until:
            return False
        self._until[thumbprint] = now + REMEMBERED_SECONDS
        return True

    async def close(self) -> None:
        return None


class SharedSeenEnvelopes:
    """The same memory in Redis, shared by every replica of one service (``namespace``: its regime and
    name): the first replica to ``SET`` a reply key relays its envelope; Redis forgets it with the
    envelope's acceptability."""

    def __init__(self, url: str, namespace: str) -> None:
        self._redis = shared_state_client(url)
        self._namespace = namespace

    async def first_time(self, reply_key: ECKey, *, now: float) -> bool:
        try:
            key = shared_key(self._namespace, "courier-seen", reply_key.thumbprint())
            stored = await self._redis.set(key, "1", nx=True, ex=REMEMBERED_SECONDS)
        except RedisError as error:
            raise ReplayMemoryUnavailable() from error
        return bool(stored)

    async def close(self) -> None:
        await self._redis.aclose()


def envelope_memory(shared_state_url: str | None, namespace: str) -> EnvelopeMemory:
    """Redis when the service's replicas share state, else this process's memory."""
    return SharedSeenEnvelopes(shared_state_url, namespace) if shared_state_url else SeenEnvelopes()
