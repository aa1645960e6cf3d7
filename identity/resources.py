"""Resource indicators (RFC 8707) in the citizen login: which service a citizen's token is for.

- The citizen's own app (``kernel.citizens.CITIZEN_APP``) names exactly one service among
  ``CITIZEN_RESOURCES`` in its authorization request; the code remembers it, the token request
  may repeat it (it must match), and the access token's ``aud`` is that service. Its subject is
  the one that service's sector knows the citizen by.
- A relying party (a confidential client) gets tokens for this provider only (userinfo, ID card);
  it may name ``urn:citygate:identity`` and nothing else.

Anything else is ``invalid_target`` (RFC 8707 §2: missing, unknown, malformed or too many).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import OAuth2Error

from kernel.access import audience_of
from kernel.citizens import CITIZEN_APP, citizen_resource_audiences, service_of_audience

IDENTITY_AUDIENCE = audience_of("identity")


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the requested resource is invalid, missing, unknown, or malformed."""

    error = "invalid_target"


def _resources(payload) -> list[str]:
    return list(payload.datalist.get("resource", []))


def authorization_resource(client_id: str, payload) -> str | None:
    """The resource the authorization request names (None: this provider), or InvalidTargetError."""
    resources = _resources(payload)
    if client_id == CITIZEN_APP:
        if not resources:
            raise InvalidTargetError("Name the one service the token is for: resource=urn:citygate:<service>.")
        if len(resources) > 1:
            raise InvalidTargetError("One token is for one service: send a single resource.")
        if resources[0] not in citizen_resource_audiences():
            allowed = ", ".join(sorted(citizen_resource_audiences()))
            raise InvalidTargetError(f"The citizen's app can get tokens only for: {allowed}.")
        return resources[0]
    if any(resource != IDENTITY_AUDIENCE for resource in resources):
        raise InvalidTargetError(f"A relying party's citizen tokens are for {IDENTITY_AUDIENCE} only.")
    return None


def check_token_resource(payload, granted: str | None) -> None:
    """The token request may repeat the resource the code was issued for, and nothing else."""
    expected = granted or IDENTITY_AUDIENCE
    if any(resource != expected for resource in _resources(payload)):
        raise InvalidTargetError("The resource is not the one this code was issued for.")


def subject_client(client_id: str, resource: str | None) -> str:
    """Whose sector the citizen's subject is in: the service the app acts at, else the client itself."""
    return service_of_audience(resource) if resource else client_id
