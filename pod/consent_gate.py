"""Reads by departments: allowed by a consent the consent service confirms, logged before release.

A department that no ACL names may still read a resource of a citizen's pod when the consent
service says an artefact covers that resource's data category for the purpose the department
states. The pod asks before reading (``POST /decisions``, which appends the access — or the
refusal — to the transparency ledger before it answers), so no byte leaves the pod unlogged.
If the consent service cannot be asked, nothing is released (503).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.client import UpstreamUnavailable, json_or_empty
from kernel.consent_headers import ARTEFACT_HEADER, PURPOSE_HEADER
from kernel.problems import Problem
from pod.paths import pod_of, pod_root

# Where government data lands in a pod, and the DPV category of what is there (docs/pod.md).
CATEGORY_OF_CONTAINER: dict[str, str] = {
    "prescriptions/": "pd:Prescription",
    "health/": "pd:HealthRecord",
    "address/": "pd:PhysicalAddress",
    "vehicles/": "pd:VehicleLicense",
    "civil-status/": "pd:MaritalStatus",
}


@dataclass(frozen=True)
class ServiceCaller:
    """A department at the pod: who, which pod permissions its token carries (``pod:read``,
    ``pod:deposit``), why (the purpose it states), and the receipt it presents (if any)."""

    service: str
    permissions: frozenset[str]
    purpose: str | None
    receipt: str | None
    artefact_id: str | None = None  # the artefact it relies on, about the citizen it acts for (ARTEFACT_HEADER)


def category_of(path: str) -> str | None:
    inside = path[len(pod_root(pod_of(path))) :]
    return next(
        (category for container, category in CATEGORY_OF_CONTAINER.items() if inside.startswith(container)), None
    )


async def decide(app, caller: ServiceCaller, path: str, *, processing: str = "dpv:Use") -> int:
    """The ledger index of the permitted read (or, with ``dpv:Store``, deposit), or a 403/400/503
    problem (refusals are logged too)."""
    category = category_of(path)
    if category is None:
        raise Problem(
            403, "Nothing here can be read under a consent; the owner's access control decides.", kind="forbidden"
        )
    if not caller.purpose:
        raise Problem(
            400, f"State the purpose of the read in the {PURPOSE_HEADER} header (a DPV term).", kind="purpose-missing"
        )
    question = {
        "subject": pod_of(path),
        "recipient": caller.service,
        "category": category,
        "purpose": caller.purpose,
        "processing": processing,
        "resource": app.state.settings.public_url + path,
    }
    if caller.receipt:
        question["artefact"] = caller.receipt
    if caller.artefact_id:
        question["artefact_id"] = caller.artefact_id
    try:
        response = await app.state.services.request("consent", "POST", "/decisions", json=question)
    except UpstreamUnavailable as error:
        raise Problem(
            503, "The consent service cannot be asked, so nothing is released.", kind="consent-unavailable"
        ) from error
    body = json_or_empty(response)
    if response.status_code == 422 and caller.artefact_id and not caller.receipt:
        raise Problem(422, f"The {ARTEFACT_HEADER} header does not name an artefact.", kind="invalid-artefact")
    if response.status_code == 422:
        raise Problem(
            422,
            body.get("detail", "The presented consent receipt was refused."),
            kind=str(body.get("type", "")).rsplit(":", 1)[-1] or "invalid-artefact",
        )
    if response.status_code != 200:
        raise Problem(
            503,
            f"The consent service answered {response.status_code}; nothing is released.",
            kind="consent-unavailable",
        )
    if body.get("refusal") == "subject-mismatch":
        raise Problem(
            403,
            "This pod is not the pod of the citizen the department acts for: the consent or legal "
            "basis it relies on is about someone else. Nothing was read or written.",
            kind="subject-mismatch",
            ledger_index=body.get("ledger_index"),
        )
    if not body.get("permitted"):
        raise Problem(
            403,
            f"Neither a consent nor a legal basis covers this: {body.get('reason')}.",
            kind="no-consent",
            ledger_index=body.get("ledger_index"),
        )
    if not decided_for(body, caller.service):
        raise Problem(
            403,
            "The consent service's answer does not cover this department as the reader.",
            kind="no-consent",
            ledger_index=body.get("ledger_index"),
        )
    return int(body["ledger_index"])


def decided_for(decision: dict, reader: str) -> bool:
    """Whether a "yes" covers ``reader`` itself: it names the reader, and a basis other than consent
    (a law's, which covers only the controller it names) has the reader as its controller."""
    if decision.get("recipient") != reader:
        return False
    return decision.get("legal_basis") == "dpv:Consent" or decision.get("controller") == reader
