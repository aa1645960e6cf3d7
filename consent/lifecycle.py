"""The consent lifecycle: the only transitions there are.

    requested ──▶ given ──▶ withdrawn   (by the citizen, effective immediately)
        │           └─────▶ expired     (validity over, or a one-time consent used)
        └──────▶ refused

Anything else — giving a refused consent, withdrawing a request, reviving a withdrawn one — is
refused; a consumer that wants another answer asks again, so the history stays truthful.
"""

from __future__ import annotations

from consent.models import Status
from kernel.problems import Problem

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REQUESTED: frozenset({Status.GIVEN, Status.REFUSED}),
    Status.GIVEN: frozenset({Status.WITHDRAWN, Status.EXPIRED}),
    Status.REFUSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
    Status.EXPIRED: frozenset(),
}
# Who may cause each transition: the citizen decides, the service's clock expires.
BY_CITIZEN = frozenset({Status.GIVEN, Status.REFUSED, Status.WITHDRAWN})


class ForbiddenTransition(Problem):
    def __init__(self, current: Status, wanted: Status) -> None:
        allowed = sorted(TRANSITIONS[current])
        super().__init__(
            409,
            f"A {current.value} artefact cannot become {wanted.value}"
            + (f"; it can become {', '.join(allowed)}." if allowed else "; it is final."),
            kind="forbidden-transition",
            current=current.value,
            requested=wanted.value,
            allowed=allowed,
        )


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in TRANSITIONS[current]:
        raise ForbiddenTransition(current, wanted)
