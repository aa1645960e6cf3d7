"""Every problem kind the identity provider answers with (RFC 9457; ``kernel.problems``).

The OAuth endpoints (``/oauth2/token``, and ``/authorize`` towards a relying party) answer in
RFC 6749's error vocabulary instead (``identity.token_server.IdentityServer.handle_response``);
the kinds every service shares, and those of a bearer token that is missing or refused, are the
kernel's.
"""

from __future__ import annotations

from kernel.problems import Problem


class NotARelyingParty(Problem):
    """The citizen's own app holds tokens for this provider for its ID card only."""

    status, kind = 403, "not-a-relying-party"


class InsufficientScope(Problem):
    """A citizen's token for this provider that was not issued for OpenID Connect."""

    status, kind = 403, "insufficient-scope"


class InvalidHolderKey(Problem):
    status, kind = 422, "invalid-holder-key"


class InvalidPresentation(Problem):
    status, kind = 400, "invalid-presentation"


class ResidentIdRefused(Problem):
    """Not a valid resident identity number (GB 11643-1999: its check character, its birth date)."""

    status, kind = 422, "invalid-resident-id"


class AlreadyEnrolled(Problem):
    status, kind = 409, "already-enrolled"


class CitizenNotFound(Problem):
    """No citizen with this resident ID is enrolled."""

    status, kind = 404, "citizen-not-found"


class NoSector(Problem):
    """The calling service belongs to no sector, so no subject can be issued for it."""

    status, kind = 403, "no-sector"


class UnknownClient(Problem):
    status, kind = 422, "unknown-client"


class SubjectNotFound(Problem):
    status, kind = 404, "subject-not-found"
