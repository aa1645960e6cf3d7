"""Reads by departments: allowed by a consent the consent service confirms, logged before release.

A department that no ACL names may still read a resource of a citizen's pod when the consent
service says an artefact covers that resource's data category for the purpose the department
states. The pod asks before reading (``POST /decisions``, which appends the access — or the
refusal — to the transparency ledger before it answers), so no byte leaves the pod unlogged.
If the consent service cannot be asked, nothing is released (503).
"""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from kernel.client import ServiceClient, UpstreamUnavailable, json_or_empty
from kernel.consent_headers import ARTEFACT_HEADER, LEDGER_INDEX_HEADER, PURPOSE_HEADER
from kernel.problems import InvalidArtefact, NoConsent, NotFound, kind_of
from pod import store
from pod.auth import DepartmentCaller
from pod.dependencies import PodState
from pod.errors import ArtefactRefused, ConsentUnavailable, Forbidden, PurposeMissing, SubjectMismatch
from pod.models import StoredResource
from pod.paths import pod_of, pod_root
from pod.representation import read_response

# Where government data lands in a pod, and the DPV category of what is there (docs/pod.md).
CATEGORY_OF_CONTAINER: dict[str, str] = {
    "prescriptions/": "pd:Prescription",
    "health/": "pd:HealthRecord",
    "address/": "pd:PhysicalAddress",
    "vehicles/": "pd:VehicleLicense",
    "civil-status/": "pd:MaritalStatus",
}


def category_of(path: str) -> str | None:
    inside = path[len(pod_root(pod_of(path))) :]
    return next(
        (category for container, category in CATEGORY_OF_CONTAINER.items() if inside.startswith(container)), None
    )


async def read_under_consent(
    state: PodState, reader: DepartmentCaller, path: str, headers: dict[str, str], *, head: bool
) -> Response:
    """The resource at ``path``, once the consent service has permitted (and logged) the read."""
    if not await run_in_threadpool(_pod_exists, state, path):
        raise NotFound("No pod here.")
    ledger_index = await decide(state.services, state.base_url, reader, path)  # logged before anything is read
    response = await run_in_threadpool(_read_path, state, path, headers, head)
    response.headers[LEDGER_INDEX_HEADER] = str(ledger_index)
    return response


def _read_path(state: PodState, path: str, headers: dict[str, str], head: bool) -> Response:
    with state.database.session() as session:
        row = store.read(session, path)
        if row is None:
            raise NotFound("No such resource.")
        return read_response(session, row, headers, state.base_url, head=head)


def _pod_exists(state: PodState, path: str) -> bool:
    with state.database.session() as session:
        return session.get(StoredResource, pod_root(pod_of(path))) is not None


async def decide(
    services: ServiceClient, base_url: str, caller: DepartmentCaller, path: str, *, processing: str = "dpv:Use"
) -> int:
    """The ledger index of the permitted read (or, with ``dpv:Store``, deposit), or a 403/400/503
    problem (refusals are logged too)."""
    category = category_of(path)
    if category is None:
        raise Forbidden("Nothing here can be read under a consent; the owner's access control decides.")
    if not caller.purpose:
        raise PurposeMissing(f"State the purpose of the read in the {PURPOSE_HEADER} header (a DPV term).")
    question = {
        "subject": pod_of(path),
        "recipient": caller.service,
        "category": category,
        "purpose": caller.purpose,
        "processing": processing,
        "resource": base_url + path,
    }
    if caller.receipt:
        question["artefact"] = caller.receipt
    if caller.artefact_id:
        question["artefact_id"] = caller.artefact_id
    try:
        response = await services.request("consent", "POST", "/decisions", json=question)
    except UpstreamUnavailable as error:
        raise ConsentUnavailable("The consent service cannot be asked, so nothing is released.") from error
    body = json_or_empty(response)
    if response.status_code == 422 and caller.artefact_id and not caller.receipt:
        raise InvalidArtefact(f"The {ARTEFACT_HEADER} header does not name an artefact.")
    if response.status_code == 422:
        raise ArtefactRefused(
            body.get("detail", "The presented consent receipt was refused."),
            kind=kind_of(body.get("type")) or "invalid-artefact",
        )
    if response.status_code != 200:
        raise ConsentUnavailable(f"The consent service answered {response.status_code}; nothing is released.")
    if body.get("refusal") == "subject-mismatch":
        raise SubjectMismatch(
            "This pod is not the pod of the citizen the department acts for: the consent or legal "
            "basis it relies on is about someone else. Nothing was read or written.",
            ledger_index=body.get("ledger_index"),
        )
    if not body.get("permitted"):
        raise NoConsent(
            f"Neither a consent nor a legal basis covers this: {body.get('reason')}.",
            ledger_index=body.get("ledger_index"),
        )
    if not decided_for(body, caller.service):
        raise NoConsent(
            "The consent service's answer does not cover this department as the reader.",
            ledger_index=body.get("ledger_index"),
        )
    return int(body["ledger_index"])


def decided_for(decision: dict[str, Any], reader: str) -> bool:
    """Whether a "yes" covers ``reader`` itself: it names the reader, and a basis other than consent
    (a law's, which covers only the controller it names) has the reader as its controller."""
    if decision.get("recipient") != reader:
        return False
    return decision.get("legal_basis") == "dpv:Consent" or decision.get("controller") == reader
