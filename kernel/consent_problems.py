"""Problem kinds of reads and deposits under consent: a contract between services, so declared here.

The consent service answers them; the pod answers them too (its own, or the consent service's passed
on to the department that asked); departments react to them (a prescription the citizen's consent no
longer covers is left out of a list). A kind has one class (``kernel.problems``), and no service
imports another's package, so the kinds more than one service answers or reads live in the kernel,
beside the headers of the same exchange (``kernel.consent_headers``).
"""

from __future__ import annotations

from kernel.problems import Problem


class InvalidArtefact(Problem):
    """The receipt or artefact presented is not one the consent service signed, knows or can match."""

    status, kind = 422, "invalid-artefact"


class ArtefactExpired(Problem):
    """The receipt presented is signed, but its validity has ended."""

    status, kind = 422, "artefact-expired"


class NoConsent(Problem):
    """Neither a consent nor a legal basis covers this use of the citizen's data."""

    status, kind = 403, "no-consent"
