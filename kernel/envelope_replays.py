"""The courier's replay memory: a sealed request is relayed once (kernel/courier.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from joserfc.jwk import ECKey

# How long a sealed request stays acceptable (and its reply key remembered), and the clock skew
# tolerated between the citizen's device and the department.
MAX_ENVELOPE_AGE = 120
CLOCK_SKEW = 30


@dataclass
class SeenEnvelopes:
    """The reply keys of the requests relayed in the last ``MAX_ENVELOPE_AGE`` seconds (one app's memory)."""

    _until: dict[str, float] = field(default_factory=dict)

    def first_time(self, reply_key: ECKey, *, now: float) -> bool:
        """True the first time this reply key is seen; it is then remembered while its envelope is acceptable."""
        # Entries go in with the same lifetime, so the oldest are first: forget from the front only,
        # not by scanning every remembered key on each relayed request.
        while self._until and (oldest := next(iter(self._until))) and self._until[oldest] < now:
            del self._until[oldest]
        thumbprint = reply_key.thumbprint()
        if thumbprint in self._until:
            return False
        self._until[thumbprint] = now + MAX_ENVELOPE_AGE + CLOCK_SKEW
        return True
