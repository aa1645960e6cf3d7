"""Where a prescription's contents (medication, dose, quantity, diagnosis, prescriber) are kept.

One interface, :class:`PrescriptionStore`, and two implementations; the regime's policy
(``services.prescriptions.policy``) picks one, and nothing else in the service knows which:

- :class:`DepartmentStore` (platform regime): the contents go into this department's own
  database, table ``prescription_content``, next to the process record.
- :class:`PodStore` (rights regime): the contents go into the patient's personal data pod, and
  the department keeps only the process record with a reference into the pod (``pod_ref``).
  The pod service does not exist yet, so every operation that needs the contents is refused
  with a 503 ``pod-unavailable`` problem before anything is written — this store never falls
  back to the department's database.

The process record (``Prescription``: patient subject, amount, status, pharmacy, parcel) is the
department's in both regimes, so paying and ordering a delivery never need the contents; issuing,
reading and dispensing do.

Methods are synchronous because the domain runs in the request's worker thread inside one
database transaction. The pod implementation will call the pod over HTTP from there with
``anyio.from_thread.run(services.request, "pod", …)`` (the app's kernel client: token, trace
headers, upstream problems), after the kernel grants ``prescriptions`` permissions on ``pod``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from sqlmodel import Session, select

from kernel.problems import Problem
from services.prescriptions.models import ContentsLocation, Prescription, PrescriptionContent, PrescriptionContents


class Purpose(StrEnum):
    """Why the contents are read: the pod will only release them under a consent for this purpose."""

    PATIENT_VIEW = "patient-view"  # the patient looks at their own prescriptions in the super-app
    DISPENSING = "dispensing"  # a pharmacy reads what to hand over


class PodUnavailable(Problem):
    def __init__(self, operation: str) -> None:
        super().__init__(
            503,
            "The personal data pod is not available yet. In this regime a prescription's contents "
            f"(medication, dose, diagnosis) are kept only in the patient's pod, so they cannot be {operation} "
            "until the hospital writes to and the pharmacy reads from the pod (not wired yet); nothing was "
            "stored in the department's database.",
            kind="pod-unavailable", operation=operation,
        )


class PrescriptionStore(Protocol):
    """Keeps and returns prescriptions' contents; the caller owns the session's transaction."""

    location: ContentsLocation

    def keep(self, session: Session, record: Prescription, contents: PrescriptionContents) -> None:
        """Store a new prescription: add ``record`` to the session (setting its ``contents_in`` and,
        for the pod, ``pod_ref``) and keep ``contents`` where this store keeps them. Raises before
        adding anything if the contents cannot be kept. The caller commits."""
        ...

    def contents_of(self, session: Session, record: Prescription, purpose: Purpose) -> PrescriptionContents:
        """The contents of a stored prescription, read for ``purpose``."""
        ...

    def prescriptions_of(
        self, session: Session, patient: str, purpose: Purpose,
    ) -> Sequence[tuple[Prescription, PrescriptionContents]]:
        """Every prescription of ``patient`` with its contents, oldest first."""
        ...


class DepartmentStore:
    """Platform regime: the contents sit in the department's own ``prescription_content`` table."""

    location = ContentsLocation.DEPARTMENT

    def keep(self, session: Session, record: Prescription, contents: PrescriptionContents) -> None:
        record.contents_in = self.location
        record.pod_ref = None
        session.add(record)
        session.flush()  # the content row references the prescription row
        session.add(PrescriptionContent(prescription_id=record.id, **contents.model_dump()))

    def contents_of(self, session: Session, record: Prescription, purpose: Purpose) -> PrescriptionContents:
        row = session.get(PrescriptionContent, record.id)
        if row is None:  # both rows are written in one transaction; missing means corrupted data
            raise RuntimeError(f"prescription {record.id} has no contents in the department's database")
        return _contents(row)

    def prescriptions_of(
        self, session: Session, patient: str, purpose: Purpose,
    ) -> Sequence[tuple[Prescription, PrescriptionContents]]:
        rows = session.exec(
            select(Prescription, PrescriptionContent)
            .join(PrescriptionContent, PrescriptionContent.prescription_id == Prescription.id)
            .where(Prescription.patient == patient)
            .order_by(Prescription.issued_at, Prescription.id)
        ).all()
        return [(record, _contents(row)) for record, row in rows]


class PodStore:
    """Rights regime: the contents live in the patient's personal data pod.

    Today every method raises :class:`PodUnavailable`. When the pod service arrives:
    ``keep`` writes the contents as a resource in the patient's prescriptions container (under
    the hospital's write grant) and sets ``record.pod_ref`` to its URL; ``contents_of`` reads
    ``record.pod_ref`` under the patient's consent for ``purpose`` (the read is logged in the
    consent ledger); ``prescriptions_of`` lists the patient's prescriptions container.
    """

    location = ContentsLocation.POD

    def keep(self, session: Session, record: Prescription, contents: PrescriptionContents) -> None:
        raise PodUnavailable("written")

    def contents_of(self, session: Session, record: Prescription, purpose: Purpose) -> PrescriptionContents:
        raise PodUnavailable("read")

    def prescriptions_of(
        self, session: Session, patient: str, purpose: Purpose,
    ) -> Sequence[tuple[Prescription, PrescriptionContents]]:
        raise PodUnavailable("listed")


def _contents(row: PrescriptionContent) -> PrescriptionContents:
    return PrescriptionContents.model_validate(row.model_dump(exclude={"prescription_id"}))
