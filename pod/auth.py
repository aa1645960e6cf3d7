"""Who calls the pod: a citizen with their own app's token, a department, or nobody.

A citizen is known by their WebID (``pod.paths.webid_of``), which the resources' access control
names; a department only by the pod permissions its token carries — ``pod:read`` to read under a
consent, ``pod:deposit`` to deposit the records it issues — and what its headers state. The
citizen's own routes (create, export, erase a pod) take ``kernel.citizens.CurrentCitizen``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kernel.access import is_allowed
from kernel.citizens import CITIZEN_APP
from kernel.consent_headers import ARTEFACT_HEADER, PURPOSE_HEADER, RECEIPT_HEADER
from kernel.tokens import bearer_scheme, verified_claims
from pod.dependencies import ResourcePath, StateDep
from pod.errors import NotAPodCaller
from pod.paths import webid_of

READ_UNDER_CONSENT = "pod:read"
DEPOSIT = "pod:deposit"


@dataclass(frozen=True)
class DepartmentCaller:
    """A department at the pod: who, which pod permissions its token carries (``pod:read``,
    ``pod:deposit``), why (the purpose it states), and the receipt it presents (if any)."""

    service: str
    permissions: frozenset[str]
    purpose: str | None
    receipt: str | None
    artefact_id: str | None = None  # the artefact it relies on, about the citizen it acts for (ARTEFACT_HEADER)


async def pod_caller(request: Request, path: ResourcePath, state: StateDep) -> str | DepartmentCaller | None:
    """The WebID of a citizen calling with their app's token for the pod, a department reading
    under consent (``pod:read``) or depositing a record (``pod:deposit``), or None when anonymous.
    After the path is checked (``path``): a malformed path is refused whoever calls."""
    credentials = await bearer_scheme(request)
    if credentials is None:
        return None
    claims = await verified_claims(request, credentials, missing="")
    client = str(claims.get("client_id", ""))
    if client == CITIZEN_APP and claims.get("sub"):
        return webid_of(state.base_url, str(claims["sub"]))
    permissions = frozenset(
        permission
        for permission in str(claims.get("scope", "")).split()
        if permission in (READ_UNDER_CONSENT, DEPOSIT) and is_allowed(client, permission)
    )
    if permissions:
        return DepartmentCaller(
            client,
            permissions,
            request.headers.get(PURPOSE_HEADER),
            request.headers.get(RECEIPT_HEADER),
            request.headers.get(ARTEFACT_HEADER),
        )
    raise NotAPodCaller()


# Whoever calls a resource of a pod (the Solid protocol's routes): a citizen's WebID, a department, or None
PodCaller = Annotated[str | DepartmentCaller | None, Depends(pod_caller)]
