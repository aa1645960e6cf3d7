"""Every problem the credit-sharing platform answers with, one class per kind.

The kind strings and statuses are part of the API (the civil affairs bureau passes ``invalid-subject``
on to the citizen; the traffic police log a refused report by its kind): change
neither.
"""

from __future__ import annotations

from kernel.problems import Problem
from services.credit.models import CreditRecord


class InvalidSubject(Problem):
    status, kind = 422, "invalid-subject"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The subject is not a resident identity number: {reason}.")


class RecordNotFound(Problem):
    status, kind = 404, "credit-record-not-found"

    def __init__(self, source: str, reference: str) -> None:
        super().__init__(f"{source!r} has reported no record {reference!r}.")


class NotTheSource(Problem):
    """Only the department that reported a record may settle it."""

    status, kind = 403, "not-record-source"

    def __init__(self, caller: str, source: str) -> None:
        super().__init__(f"Only {source!r} may settle its own records; {caller!r} may not.")


class ConflictingRecord(Problem):
    """The same (source, reference) reported again with other details."""

    status, kind = 409, "conflicting-credit-record"

    def __init__(self, existing: CreditRecord) -> None:
        super().__init__(
            f"{existing.source!r} already reported {existing.reference!r} with other details; "
            "a reference names one record for good.",
            existing_id=existing.id,
        )
