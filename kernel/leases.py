"""Who runs a background duty (kernel/periodic.py) when a service runs as several replicas: the one that
holds its lease.

One process per service (``citygate up``) holds every lease of its own (``OwnLease``). Replicas given
``shared_state_url`` (``redis://…``) take each duty's lease in Redis (``SharedLease``): the first to
``SET`` it runs the duty and renews the lease at every pass; another takes over once a holder that
stopped without giving it back lets it lapse. A replica that cannot reach Redis holds nothing: the duty
waits (the wallet retrier's payments stay pending, the fines sweep comes later) rather than run twice.
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol

from redis.exceptions import RedisError

from kernel.shared_state import shared_key, shared_state_client

log = logging.getLogger("citygate.leases")

# Renew the lease if it is still ours, else take it if nobody holds it: one atomic step in Redis.
_HOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"""
# Give the lease back, if it is still ours (one that lapsed and was taken is not ours to delete).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease(Protocol):
    async def hold(self, seconds: float) -> bool:
        """True if this process runs the duty now: the lease is taken or renewed for ``seconds``."""
        ...

    async def release(self) -> None:
        """Give the lease back (stopping), so another replica takes the duty at once."""
        ...


class OwnLease:
    """One process per service: the duty is always its own."""

    async def hold(self, seconds: float) -> bool:
        return True

    async def release(self) -> None:
        return None


class SharedLease:
    """A duty's lease in Redis, shared by the replicas of one service (``namespace``: its regime and name)."""

    def __init__(self, url: str, namespace: str, duty: str) -> None:
        self._redis = shared_state_client(url)
        self._key = shared_key(namespace, "lease", duty)
        self._holder = secrets.token_hex(16)  # this process, for as long as it runs

    async def hold(self, seconds: float) -> bool:
        try:
            held = await self._redis.eval(_HOLD, 1, self._key, self._holder, int(seconds * 1000))
        except RedisError as error:
            log.warning("the lease %s cannot be taken (%s): this replica leaves the duty", self._key, error)
            return False
        return bool(held)

    async def release(self) -> None:
        try:
            await self._redis.eval(_RELEASE, 1, self._key, self._holder)
        except RedisError:
            pass  # it lapses by itself
        finally:
            await self._redis.aclose()


def lease_for(shared_state_url: str | None, namespace: str, duty: str) -> Lease:
    """Redis when the service's replicas share state, else the process's own."""
    return SharedLease(shared_state_url, namespace, duty) if shared_state_url else OwnLease()
