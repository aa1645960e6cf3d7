"""Asking the consent service from the request's worker thread (the pod store and the delivery desk
run there, inside the domain's transaction): the call goes through the app's kernel client on the
event loop."""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import from_thread

from kernel.client import ServiceClient, json_or_empty, raise_for_upstream_problem


def ask_consent_service(services: ServiceClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to the consent service; its answer, or its problem passed on."""
    response = from_thread.run(partial(services.request, "consent", "POST", path, json=body))
    raise_for_upstream_problem("consent", response)
    return json_or_empty(response)
