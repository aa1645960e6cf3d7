"""The rights regime's prescription store: the contents live in the patient's personal data pod,
signed by the hospital; the department keeps the process record, a reference into the pod and the
digest of what it signed (``services.prescriptions.stores`` for the interface)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from anyio import from_thread
from joserfc.jwk import ECKey, KeySet
from sqlmodel import Session, col, select

from kernel.client import ServiceClient, UpstreamUnavailable, json_or_empty
from kernel.clock import utc_now
from kernel.consent_headers import ARTEFACT_HEADER, PURPOSE_HEADER
from kernel.legal_bases import MEDICAL_RECORDS_RETENTION
from kernel.problems import NoConsent, Problem, UpstreamError, kind_of
from services.prescriptions.consent_service import ask_consent_service
from services.prescriptions.errors import (
    ContentsAltered,
    ContentsErased,
    InvalidPod,
    PodNotFound,
    PodRefused,
    PodRequired,
    PodUnavailable,
)
from services.prescriptions.models import (
    ContentsLocation,
    Prescription,
    PrescriptionContents,
    Signature,
    SignedContents,
    as_utc,
)
from services.prescriptions.pod_document import (
    PrescriptionAltered,
    digest_of,
    sign,
    signed_contents,
    signed_payload,
    to_turtle,
)
from services.prescriptions.stores import Purpose

log = logging.getLogger(__name__)

CONTAINER = "prescriptions/"
# One prescription's own refusals, which leave it out of a list: its consent refused or withdrawn, its
# document altered or erased (anything else, such as an unreachable pod, fails the list).
NOT_SHOWN_IN_A_LIST = frozenset({NoConsent.kind, ContentsAltered.kind, ContentsErased.kind})
STORAGE = re.compile(r"/pods/[A-Za-z0-9_-]{1,200}/")
KEEPING_PURPOSE = "dpv:LegalCompliance"  # the hospital keeps a record of what it prescribed, and shows it to her
READING_PURPOSE = "dpv:ServiceProvision"  # the pharmacy reads it to dispense (under her consent)
KEEPING_YEARS = 10  # the consent service's longest validity
DISPENSING_DAYS = 90
# A basis's or a consent's validity counts from now (the wall clock), not from the prescription's issue
# time: a seeded prescription may be dated earlier.


def keeping_basis(patient: str, pod_ref: str) -> dict[str, Any]:
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
        "valid_until": (utc_now() + timedelta(days=365 * KEEPING_YEARS - 1)).isoformat(),
    }


def dispensing_consent(patient: str, prescription_id: str, pod_ref: str) -> dict[str, Any]:
    # for this prescription's document only: not her other prescriptions, nor her notes beside them
    return {
        "subject": patient,
        "purposes": [READING_PURPOSE],
        "categories": ["pd:Prescription"],
        "processing": ["dpv:Use"],
        "resources": [pod_ref],
        "valid_until": (utc_now() + timedelta(days=DISPENSING_DAYS)).isoformat(),
        "notice": f"The pharmacy reads prescription {prescription_id} from your pod to dispense it.",
    }


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
            raise PodNotFound(storage)
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
            raise ContentsAltered(record.id, str(error)) from error
        return SignedContents(**contents.model_dump(), signature=Signature(verified=True))

    def kept_as(
        self, session: Session, record: Prescription, contents: PrescriptionContents, *, pod: str | None = None
    ) -> SignedContents | None:
        """What the hospital signed and deposited is known here only by its digest: the same contents, in the
        same place in the same pod, for the same patient at the same moment give the same digest."""
        if record.pod_ref is None or record.contents_digest is None or not pod:
            return None
        if record.pod_ref != f"{pod}{CONTAINER}{record.id}":
            return None
        payload = signed_payload(
            prescription_id=record.id,
            pod_ref=record.pod_ref,
            patient=record.patient,
            issued_at=as_utc(record.issued_at),
            contents=contents,
        )
        if digest_of(payload) != record.contents_digest:
            return None
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
            .order_by(col(Prescription.issued_at), col(Prescription.id))
        ).all()
        shown = []
        for record in records:
            # One document she erased or changed, or one consent she refused, is about that prescription
            # only: the list leaves it out (its own read says why), it never makes every other one unreadable.
            # An unreachable pod or consent service still fails the whole list.
            try:
                shown.append((record, self.contents_of(session, record, purpose)))
            except Problem as problem:
                if kind_of(problem.type) not in NOT_SHOWN_IN_A_LIST:
                    raise
                log.info("prescription %s left out of a %s list: %s", record.id, purpose.value, problem.type)
        return shown

    # ---- talking to the pod and the consent service ----------------------------------------------

    def _storage(self, pod: str | None) -> str:
        """The patient's pod root, checked to be on the pod service this department trusts with its token."""
        if not pod:
            raise PodRequired()
        base = self._services().peers.get("pod", "")
        if not (base and STORAGE.fullmatch(pod.removeprefix(base))):
            raise InvalidPod(pod, base)
        return pod

    def _pod(self, method: str, url: str, operation: str, **kwargs: Any) -> httpx.Response:
        services = self._services()
        try:
            return from_thread.run(
                partial(services.request, "pod", method, url.removeprefix(services.peers["pod"]), **kwargs)
            )
        except UpstreamUnavailable as error:
            raise PodUnavailable(operation) from error

    def _consent(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return ask_consent_service(self._services(), path, body)


def _pod_refusal(response: httpx.Response, what: str) -> Problem:
    """The pod's refusal, passed on: a missing consent is the patient's choice, not a fault."""
    body = json_or_empty(response)
    if response.status_code in (400, 403, 409, 422):
        return PodRefused(response.status_code, kind_of(body.get("type")), what, body.get("detail", ""))
    if response.status_code == 503:
        return PodUnavailable("written" if what == "deposit" else "read")
    return UpstreamError(f"The patient's pod answered {response.status_code} to the {what}.", upstream="pod")
