"""Every problem the consent service answers with, as a class (``kernel.problems``).

Shared kinds come from ``kernel.problems``: ``NotFound`` and the request's own mistakes, and
``InvalidArtefact`` and ``ArtefactExpired``, which the pod passes on to the departments that
presented the receipt.
"""

from __future__ import annotations

from typing import Any

from consent.models import Status
from kernel.problems import Problem


class UnknownTerm(Problem):
    """A purpose, category or processing term the vocabulary cannot explain to the citizen."""

    status, kind = 422, "unknown-term"

    def __init__(self, unknown: dict[str, list[str]], known: dict[str, list[str]]) -> None:
        super().__init__(
            "The request names terms this service cannot explain to the citizen.", unknown=unknown, known=known
        )


class LegalBasisNotInLaw(Problem):
    """A department recorded a basis that no declared law gives it."""

    status, kind = 403, "legal-basis-not-in-law"

    def __init__(self, controller: str, declared: list[dict[str, Any]]) -> None:
        super().__init__(
            f"No law declared in this deployment gives {controller} this basis; nothing was recorded.",
            declared=declared,
        )


class InvalidValidity(Problem):
    status, kind = 422, "invalid-validity"

    def __init__(self) -> None:
        super().__init__("valid_until must lie in the future, at most ten years ahead.")


class ArtefactNotFound(Problem):
    """No artefact with this id, or one the caller may not learn exists: the same answer."""

    status, kind = 404, "artefact-not-found"


class NotConsentBased(Problem):
    """The citizen cannot give, refuse or withdraw processing that rests on a law or a contract."""

    status, kind = 409, "not-consent-based"

    def __init__(self, basis: str) -> None:
        super().__init__(
            f"This processing rests on {basis}, not on your consent: there is nothing to give, refuse or withdraw here."
        )


class RequestLapsed(Problem):
    status, kind = 409, "request-lapsed"

    def __init__(self) -> None:
        super().__init__("This request has lapsed (its validity ended before you answered).")


class ForbiddenTransition(Problem):
    """A change of status the lifecycle (``consent.lifecycle``) has no arrow for."""

    status, kind = 409, "forbidden-transition"

    def __init__(self, current: Status, wanted: Status, allowed: list[Status]) -> None:
        super().__init__(
            f"A {current.value} artefact cannot become {wanted.value}"
            + (f"; it can become {', '.join(allowed)}." if allowed else "; it is final."),
            current=current.value,
            requested=wanted.value,
            allowed=allowed,
        )


class SubjectUnknown(Problem):
    """The identity service knows no citizen by this caller's pseudonym."""

    status, kind = 404, "subject-unknown"

    def __init__(self, client: str) -> None:
        super().__init__(f"No citizen is known to {client} by this subject.")


class IndexBeyondTreeSize(Problem):
    """A leaf index or tree size the ledger has not reached (yet)."""

    status, kind = 400, "beyond-tree-size"


class InvalidRange(Problem):
    """A range of the ledger that is empty or reversed."""

    status, kind = 400, "invalid-range"
