"""Where a service's replicas keep what they must agree on: Redis at ``shared_state_url``
(kernel/envelope_replays.py, kernel/leases.py)."""

from __future__ import annotations

import redis.asyncio


def shared_state_client(url: str) -> redis.asyncio.Redis:
    """No retries and short timeouts: what waits on the shared state is a request or a duty, and state
    that does not answer must be refused at once (fail closed), not waited for."""
    return redis.asyncio.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def shared_key(namespace: str, *parts: str) -> str:
    """A key of one service's replicas (``namespace``: its settings' ``label``)."""
    return ":".join(("citygate", namespace, *parts))
