"""What a party received in clear, and what it only relayed sealed: the words on a span.

The rule, one for every service and both regimes: a request's ``citygate.clear`` names the
*kinds* of identifier the receiving party saw, never their values, and never a token:

- each path parameter of the matched route, by its name (``{plate}`` is "plate", ``{fine_id}``
  "fine id"); a parameter that names a person (``{subject}``, ``{resident_id}``) is called by what
  it held: "resident ID" when it is one (it parses as a resident identity number), "pseudonym"
  otherwise;
- who called, as its credential said: a service's token ("service token of gateway"), a
  citizen's own token or a super-app session, with the kind of subject it carried (again "resident
  ID" or "pseudonym": the regimes differ in their data, not in this rule);
- what a department opened from a courier envelope (the inner ``/me/...`` route).

Routes and dependencies *note* what they know into the request's scope state (cheap: one
assignment, nothing computed); the summary is written only when spans are recorded
(kernel/tracing.py), at the end of the request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Literal

from starlette.types import Scope

from kernel.resident_id import InvalidResidentId, parse_resident_id

CLEAR_ATTRIBUTE = "citygate.clear"
SEALED_BYTES_ATTRIBUTE = "citygate.sealed_bytes"
OPENED_ATTRIBUTE = "citygate.opened"

UNMATCHED = "(no route)"  # as kernel/observability.py's access log says
_CALLER_KEY = "citygate_caller"
_SEALED_KEY = "citygate_sealed_bytes"
_OPENED_KEY = "citygate_opened"

# Path parameters that name a person: called by the kind of identifier they held.
PERSON_PARAMETERS = frozenset({"subject", "resident_id", "citizen_id", "patient", "owner"})
CallerKind = Literal["service", "citizen", "session"]


def _state(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


def note_caller(scope: Scope, kind: CallerKind, *, client_id: str, subject: str | None) -> None:
    """The request's caller as its credential named it (``kernel.tokens``, ``kernel.citizens``, a session)."""
    _state(scope)[_CALLER_KEY] = (kind, client_id, subject)


def note_sealed(scope: Scope, size: int) -> None:
    """The request carried ``size`` bytes this party relays without being able to read them."""
    _state(scope)[_SEALED_KEY] = size


def note_opened(scope: Scope, method: str, path: str) -> None:
    """This party opened a sealed request for ``method path``; a span names its route template only
    (``opened_route``): the path holds identifiers."""
    _state(scope)[_OPENED_KEY] = (method, path)


def identifier_kind(value: str) -> str:
    """What kind of identifier ``value`` is, in words: never the value."""
    try:
        parse_resident_id(value)
    except InvalidResidentId:
        return "pseudonym"
    return "resident ID"


def parameter_label(name: str, value: object) -> str:
    if name in PERSON_PARAMETERS:
        return identifier_kind(str(value))
    return name.replace("_", " ")


def caller_label(kind: CallerKind, client_id: str, subject: str | None) -> str:
    if kind == "service":
        return f"service token of {client_id}"
    held = f" ({identifier_kind(subject)})" if subject else ""
    if kind == "citizen":
        return f"the citizen's own token{held}"
    return f"the citizen's session{held}"


def clear_summary(scope: Scope) -> str:
    """``citygate.clear`` for the request ``scope`` describes (once the route has matched)."""
    parts: list[str] = []
    path_params: Mapping[str, object] = scope.get("path_params") or {}
    for name, value in path_params.items():
        parts.append(f"{parameter_label(name, value)} (in the path)")
    state = scope.get("state") or {}
    if (caller := state.get(_CALLER_KEY)) is not None:
        parts.append(caller_label(*caller))
    if (opened := opened_route(scope)) is not None:
        parts.append(f"opened {opened}")
    return "; ".join(parts) if parts else "nothing that names anyone"


def sealed_bytes(scope: Scope) -> int | None:
    size = (scope.get("state") or {}).get(_SEALED_KEY)
    return size if isinstance(size, int) else None


def opened_route(scope: Scope) -> str | None:
    """``GET /me/fines/{fine_id}``: what a courier opened, by the template of the app's route it names."""
    opened = (scope.get("state") or {}).get(_OPENED_KEY)
    if opened is None:
        return None
    method, path = opened
    return f"{method} {route_template_for(scope.get('app'), method, path)}"


def route_template_for(app: object, method: str, path: str) -> str:
    """The template of the first documented route of ``app`` that ``method path`` reaches (its OpenAPI
    paths: public and in the routes' order), or "(no route)"."""
    openapi = getattr(app, "openapi", None)
    if openapi is None:
        return UNMATCHED
    path = path.split("?", 1)[0]
    for template, operations in openapi().get("paths", {}).items():
        if method.lower() in operations and _template_pattern(template).fullmatch(path):
            return str(template)
    return UNMATCHED


@functools.lru_cache(maxsize=512)
def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template)))
