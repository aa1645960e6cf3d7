"""The problems the stage's report, breach and ledger pages and its reset answer (RFC 9457, kernel/problems.py)."""

from __future__ import annotations

from kernel.problems import Problem


class UnknownParty(Problem):
    """A party (or colluding set) that neither regime has: the breach simulator steals only real databases."""

    status, kind = 422, "unknown-party"


class IndexBeyondTreeSize(Problem):
    """An entry or tree size the consent ledger has not reached (the consent service's own kind and status)."""

    status, kind = 400, "beyond-tree-size"


class InvalidRange(Problem):
    """Two tree sizes that cannot be compared: the first must be at least 1 and not exceed the second."""

    status, kind = 400, "invalid-range"


class ResetRefused(Problem):
    """A reset that did not come from the stage's own page (its Origin) with the page's token."""

    status, kind = 403, "reset-not-from-the-stage"


class ResetFailed(Problem):
    """A service refused or did not answer the demo reset (``workshop.reset.ResetError`` says which)."""

    status, kind = 502, "reset-failed"
