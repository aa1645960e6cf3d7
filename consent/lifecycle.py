"""The consent lifecycle: the only transitions there are.

    requested ──▶ given ──▶ withdrawn   (by the citizen, effective immediately)
        │           └─────▶ expired     (validity over, or a one-time consent used)
        └──────▶ refused

Anything else — giving a refused consent, withdrawing a request, reviving a withdrawn one — is
refused; a consumer that wants another answer asks again, so the history stays truthful.
"""

from __future__ import annotations

from consent.errors import ForbiddenTransition
from consent.models import Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REQUESTED: frozenset({Status.GIVEN, Status.REFUSED}),
    Status.GIVEN: frozenset({Status.WITHDRAWN, Status.EXPIRED}),
    Status.REFUSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
    Status.EXPIRED: frozenset(),
}
# Who may cause each transition: the citizen decides, the service's clock expires.
BY_CITIZEN = frozenset({Status.GIVEN, Status.REFUSED, Status.WITHDRAWN})


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in TRANSITIONS[current]:
        raise ForbiddenTransition(current, wanted, sorted(TRANSITIONS[current]))
