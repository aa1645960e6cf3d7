"""Where a prescription's contents (medication, dose, quantity, diagnosis, prescriber) are kept.

One interface, :class:`PrescriptionStore`, and two implementations; the regime's policy
(``services.prescriptions.policy``) picks one, and nothing else in the service knows which:

- :class:`DepartmentStore` (platform regime): the contents go into this department's own
  database, table ``prescription_content``, next to the process record.
- :class:`PodStore` (rights regime): the contents go into the patient's personal data pod, and
  the department keeps only the process record with a reference into the pod (``pod_ref``).
  When the pod cannot be reached the operation is refused (503 ``pod-unavailable``) — this
  store never falls back to the department's database.

The process record (``Prescription``: patient subject, amount, status, pharmacy, parcel) is the
department's in both regimes, so paying and ordering a delivery never need the contents; issuing,
reading and dispensing do.

Methods are synchronous because the domain runs in the request's worker thread inside one
database transaction; the pod store calls out with ``anyio.from_thread.run``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Protocol

import httpx
from anyio import from_thread
from joserfc.jwk import ECKey, KeySet
from sqlmodel import Session, select

from kernel.client import ServiceClient, UpstreamUnavailable, json_or_empty, raise_for_upstream_problem
from kernel.consent_headers import ARTEFACT_HEADER, PURPOSE_HEADER
from kernel.legal_bases import MEDICAL_RECORDS_RETENTION
from kernel.problems import Problem
from services.prescriptions.models import (
    ContentsLocation,
    Prescription,
    PrescriptionContent,
    PrescriptionContents,
    Signature,
    SignedContents,
)
from services.prescriptions.pod_document import (
    PrescriptionAltered,
    digest_of,
    sign,
    signed_contents,
    signed_payload,
    to_turtle,
)

log = logging.getLogger(__name__)


class Purpose(StrEnum):
    """Why the contents are read; in the rights regime each purpose is read under its own artefact."""

    PATIENT_VIEW = "patient-view"  # the patient, with her own token, looks at her own prescriptions
    SERVICE = "service"  # a department or the super-app (service token) reads them to provide a service
    DISPENSING = "dispensing"  # a pharmacy reads what to hand over


class PodUnavailable(Problem):
    def __init__(self, operation: str) -> None:
        super().__init__(
            503,
            "The patient's personal data pod cannot be reached. In this regime a prescription's contents "
            f"(medication, dose, diagnosis) are kept only in the patient's pod, so they cannot be {operation} "
            "now; nothing was stored in the department's database. Try again later.",
            kind="pod-unavailable",
            operation=operation,
        )


class PrescriptionStore(Protocol):
    """Keeps and returns prescriptions' contents; the caller owns the session's transaction."""

    location: ContentsLocation

    def keep(
        self, session: Session, record: Prescription, contents: PrescriptionContents, *, pod: str | None
    ) -> PrescriptionContents:
        """Store a new prescription: add ``record`` to the session (setting its ``contents_in`` and,
        for the pod, ``pod_ref`` and ``contents_digest``) and keep ``contents`` where this store keeps
        them; ``pod`` is the patient's pod (storage URL) where the regime needs one. Raises before
        adding anything if the contents cannot be kept. The caller commits. Returns the contents as
        kept (with their signature, where they are signed)."""
        ...

    def contents_of(self, session: Session, record: Prescription, purpose: Purpose) -> PrescriptionContents:
        """The contents of a stored prescription, read for ``purpose``."""
        ...

    def prescriptions_of(
        self,
        session: Session,
        patient: str,
        purpose: Purpose,
    ) -> Sequence[tuple[Prescription, PrescriptionContents]]:
        """Every prescription of ``patient`` with its contents, oldest first."""
        ...


class DepartmentStore:
    """Platform regime: the contents sit in the department's own ``prescription_content`` table."""

    location = ContentsLocation.DEPARTMENT

    def keep(
        self, session: Session, record: Prescription, contents: PrescriptionContents, *, pod: str | None = None
    ) -> PrescriptionContents:
        record.contents_in = self.location
        record.pod_ref = None
        session.add(record)
        session.flush()  # the content row references the prescription row
        session.add(PrescriptionContent(prescription_id=record.id, **contents.model_dump()))
        return contents

    def contents_of(self, session: Session, record: Prescription, purpose: Purpose) -> PrescriptionContents:
        row = session.get(PrescriptionContent, record.id)
        if row is None:  # both rows are written in one transaction; missing means corrupted data
            raise RuntimeError(f"prescription {record.id} has no contents in the department's database")
        return _contents(row)

    def prescriptions_of(
        self,
        session: Session,
        patient: str,
        purpose: Purpose,
    ) -> Sequence[tuple[Prescription, PrescriptionContents]]:
        rows = session.exec(
            select(Prescription, PrescriptionContent)
            .join(PrescriptionContent, PrescriptionContent.prescription_id == Prescription.id)
            .where(Prescription.patient == patient)
            .order_by(Prescription.issued_at, Prescription.id)
        ).all()
        return [(record, _contents(row)) for record, row in rows]


class PodStore:
    """Rights regime: the contents live in the patient's personal data pod (``pod.deposits``).

    ``keep`` records the hospital's legal basis for keeping the record in the consent ledger
    (a legal obligation, processing ``dpv:Store``), deposits the contents as a Turtle document
    signed by the hospital (``services.prescriptions.pod_document``) at ``<pod>prescriptions/<id>``,
    and asks the patient's consent for the pharmacy to read it (``dpv:ServiceProvision``,
    ``dpv:Use``); the department keeps the URL as ``pod_ref`` and the digest of what it signed as
    ``contents_digest``. Every read asks the pod, which releases the document only under the
    patient's consent and logs the read (or the refusal) in the ledger first; what is read counts
    only if the hospital's signature and the recorded digest match (409 ``prescription-altered``).

    The methods run in the request's worker thread; HTTP goes through the app's kernel client
    (``services``) on the event loop, with this service's token for the pod and consent service.
    """

    location = ContentsLocation.POD

    def __init__(self, services: Callable[[], ServiceClient], signing_key: Callable[[], ECKey]) -> None:
        self._services = services
        self._signing_key = signing_key  # the service's own key, published in its JWKS

    def keep(
        self, session: Session, record: Prescription, contents: PrescriptionContents, *, pod: str | None = None
    ) -> SignedContents:
        storage = self._storage(pod)
        pod_ref = f"{storage}{CONTAINER}{record.id}"
        payload = signed_payload(
            prescription_id=record.id,
            pod_ref=pod_ref,
            patient=record.patient,
            issued_at=record.issued_at,
            contents=contents,
        )
        document = to_turtle(pod_ref, record.id, record.issued_at, contents, sign(payload, self._signing_key()))
        basis = self._consent("/legal-bases", keeping_basis(record.patient, pod_ref))
        # The pod has the deposit decided on this basis, which is about this patient: her pod, or nothing.
        response = self._pod(
            "PUT",
            pod_ref,
            "written",
            content=document,
            headers={"Content-Type": "text/turtle", PURPOSE_HEADER: KEEPING_PURPOSE, ARTEFACT_HEADER: basis["id"]},
        )
        if response.status_code == 404:
            raise Problem(422, f"There is no pod at {storage}.", kind="pod-not-found")
        if response.status_code != 201:
            raise _pod_refusal(response, "deposit")
        consent = self._consent("/consent-requests", dispensing_consent(record.patient, record.id, pod_ref))
        record.contents_in, record.pod_ref, record.contents_digest = self.location, pod_ref, digest_of(payload)
        record.keeping_basis_id, record.dispensing_consent_id = basis["id"], consent["id"]
        session.add(record)
        return SignedContents(**contents.model_dump(), signature=Signature(verified=True))

    def contents_of(self, session: Session, record: Prescription, purpose: Purpose) -> SignedContents:
        if record.pod_ref is None:  # both are set together at issue; missing means corrupted data
            raise RuntimeError(f"prescription {record.id} has no reference into the patient's pod")
        # Her own view is hers: read under the hospital's duty to give her her record (the keeping basis), never
        # under her consent for the pharmacy, which only the pharmacy's and other services' reads rest on. Either
        # way decided on an artefact about this patient, so a reference into another's pod reads nothing.
        if purpose is Purpose.PATIENT_VIEW:
            stated, artefact = KEEPING_PURPOSE, record.keeping_basis_id
        else:
            stated, artefact = READING_PURPOSE, record.dispensing_consent_id
        response = self._pod(
            "GET",
            record.pod_ref,
            "read",
            headers={"Accept": "text/turtle", PURPOSE_HEADER: stated, ARTEFACT_HEADER: artefact or ""},
        )
        if response.status_code == 404:
            raise ContentsErased(record.id)
        if response.status_code != 200:
            raise _pod_refusal(response, "read")
        try:
            contents = signed_contents(
                response.content,
                record.pod_ref,
                KeySet([self._signing_key()]),
                prescription_id=record.id,
                patient=record.patient,
                digest=record.contents_digest,
            )
        except PrescriptionAltered as error:
            log.warning("prescription-altered: %s read for %s refused: %s", record.id, purpose.value, error)
            raise PrescriptionAlteredProblem(record.id, str(error)) from error
        return SignedContents(**contents.model_dump(), signature=Signature(verified=True))

    def prescriptions_of(
        self,
        session: Session,
        patient: str,
        purpose: Purpose,
    ) -> Sequence[tuple[Prescription, SignedContents]]:
        records = session.exec(
            select(Prescription)
            .where(Prescription.patient == patient)
            .order_by(Prescription.issued_at, Prescription.id)
        ).all()
        shown = []
        for record in records:
            # One document she erased or changed, or one consent she refused, is about that prescription
            # only: the list leaves it out (its own read says why), it never makes every other one unreadable.
            # An unreachable pod or consent service still fails the whole list.
            try:
                shown.append((record, self.contents_of(session, record, purpose)))
            except Problem as problem:
                if problem.type.rsplit(":", 1)[-1] not in NOT_SHOWN_IN_A_LIST:
                    raise
                log.info("prescription %s left out of a %s list: %s", record.id, purpose.value, problem.type)
        return shown

    # ---- talking to the pod and the consent service ----------------------------------------------

    def _storage(self, pod: str | None) -> str:
        """The patient's pod root, checked to be on the pod service this department trusts with its token."""
        if not pod:
            raise Problem(
                422,
                "In this regime a prescription is kept in the patient's pod: give its storage "
                "URL (`pod`), as the patient's app shows it.",
                kind="pod-required",
            )
        base = self._services().peers.get("pod", "")
        if not (base and STORAGE.fullmatch(pod.removeprefix(base))):
            raise Problem(
                422, f"{pod!r} is not a pod root on this city's pod service ({base}/pods/<id>/).", kind="invalid-pod"
            )
        return pod

    def _pod(self, method: str, url: str, operation: str, **kwargs) -> httpx.Response:
        services = self._services()
        try:
            return from_thread.run(
                partial(services.request, "pod", method, url.removeprefix(services.peers["pod"]), **kwargs)
            )
        except UpstreamUnavailable as error:
            raise PodUnavailable(operation) from error

    def _consent(self, path: str, body: dict) -> dict:
        return ask_consent_service(self._services(), path, body)


def ask_consent_service(services: ServiceClient, path: str, body: dict) -> dict:
    """POST ``body`` to the consent service from the request's worker thread; its answer, or its problem passed on."""
    response = from_thread.run(partial(services.request, "consent", "POST", path, json=body))
    raise_for_upstream_problem("consent", response)
    return json_or_empty(response)


CONTAINER = "prescriptions/"
# One prescription's own refusals, which leave it out of a list: its consent refused or withdrawn, its
# document altered or erased (anything else, such as an unreachable pod, fails the list).
NOT_SHOWN_IN_A_LIST = frozenset({"no-consent", "prescription-altered", "contents-erased"})
STORAGE = re.compile(r"/pods/[A-Za-z0-9_-]{1,200}/")
KEEPING_PURPOSE = "dpv:LegalCompliance"  # the hospital keeps a record of what it prescribed, and shows it to her
READING_PURPOSE = "dpv:ServiceProvision"  # the pharmacy reads it to dispense (under her consent)
KEEPING_YEARS = 10  # the consent service's longest validity
DISPENSING_DAYS = 90


def keeping_basis(patient: str, pod_ref: str) -> dict:
    # for this prescription's document only: the law is about the record, not the rest of her pod
    return {
        "subject": patient,
        "legal_basis": "dpv:LegalObligation",
        "law_reference": MEDICAL_RECORDS_RETENTION,
        "resources": [pod_ref],
        "purposes": [KEEPING_PURPOSE],
        "categories": ["pd:Prescription"],
        # store it in her pod; use (read) it only to show it to her when she asks
        "processing": ["dpv:Store", "dpv:Use"],
        "valid_until": (_now() + timedelta(days=365 * KEEPING_YEARS - 1)).isoformat(),
    }


def dispensing_consent(patient: str, prescription_id: str, pod_ref: str) -> dict:
    # for this prescription's document only: not her other prescriptions, nor her notes beside them
    return {
        "subject": patient,
        "purposes": [READING_PURPOSE],
        "categories": ["pd:Prescription"],
        "processing": ["dpv:Use"],
        "resources": [pod_ref],
        "valid_until": (_now() + timedelta(days=DISPENSING_DAYS)).isoformat(),
        "notice": f"The pharmacy reads prescription {prescription_id} from your pod to dispense it.",
    }


def _now() -> datetime:
    # validity counts from now, not from the issue time (a seeded prescription may be dated earlier)
    return datetime.now(UTC)


class ContentsErased(Problem):
    def __init__(self, prescription_id: str) -> None:
        super().__init__(
            410,
            f"Prescription {prescription_id!r}'s contents are no longer in the patient's pod "
            "(the patient removed them).",
            kind="contents-erased",
        )


class PrescriptionAlteredProblem(Problem):
    def __init__(self, prescription_id: str, reason: str) -> None:
        super().__init__(
            409,
            f"Prescription {prescription_id!r} in the patient's pod is not what the hospital signed and "
            f"issued ({reason}). Nothing was dispensed and nothing was charged; ask the hospital to issue it "
            "again.",
            kind="prescription-altered",
        )


def _pod_refusal(response: httpx.Response, what: str) -> Problem:
    """The pod's refusal, passed on: a missing consent is the patient's choice, not a fault."""
    body = json_or_empty(response)
    kind = str(body.get("type", "")).rsplit(":", 1)[-1] or None
    if response.status_code in (400, 403, 409, 422):
        return Problem(
            response.status_code,
            f"The patient's pod refused the {what}: {body.get('detail', '')}",
            kind=kind,
            upstream="pod",
        )
    if response.status_code == 503:
        return PodUnavailable("written" if what == "deposit" else "read")
    return Problem(
        502, f"The patient's pod answered {response.status_code} to the {what}.", kind="upstream-error", upstream="pod"
    )


def _contents(row: PrescriptionContent) -> PrescriptionContents:
    return PrescriptionContents.model_validate(row.model_dump(exclude={"prescription_id"}))
