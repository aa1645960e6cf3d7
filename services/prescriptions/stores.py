"""Where a prescription's contents (medication, dose, quantity, diagnosis, prescriber) are kept.

One interface, :class:`PrescriptionStore`, and two implementations; the regime's policy
(``services.prescriptions.policy``) picks one, and nothing else in the service knows which:

- :class:`DepartmentStore` (platform regime, here): the contents go into this department's own
  database, table ``prescription_content``, next to the process record.
- ``PodStore`` (rights regime, ``services.prescriptions.pod_store``): the contents go into the
  patient's personal data pod, and the department keeps only the process record with a reference
  into the pod (``pod_ref``). When the pod cannot be reached the operation is refused (503
  ``pod-unavailable``) — that store never falls back to the department's database.

The process record (``Prescription``: patient subject, amount, status, pharmacy, parcel) is the
department's in both regimes, so paying and ordering a delivery never need the contents; issuing,
reading and dispensing do.

Methods are synchronous because the domain runs in the request's worker thread inside one
database transaction; the pod store calls out with ``anyio.from_thread.run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from sqlmodel import Session, col, select

from services.prescriptions.models import ContentsLocation, Prescription, PrescriptionContent, PrescriptionContents


class Purpose(StrEnum):
    """Why the contents are read; in the rights regime each purpose is read under its own artefact."""

    PATIENT_VIEW = "patient-view"  # the patient, with her own token, looks at her own prescriptions
    SERVICE = "service"  # a department or the super-app (service token) reads them to provide a service
    DISPENSING = "dispensing"  # a pharmacy reads what to hand over


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

    def kept_as(
        self, session: Session, record: Prescription, contents: PrescriptionContents, *, pod: str | None
    ) -> PrescriptionContents | None:
        """The contents as ``keep`` answered them, if ``record`` was kept with exactly ``contents`` (and, where
        the store needs one, in ``pod``); else None. Decided from what this store keeps itself, without
        reading the contents back from anywhere: a doctor's request sent again is recognised, never a read."""
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

    def kept_as(
        self, session: Session, record: Prescription, contents: PrescriptionContents, *, pod: str | None = None
    ) -> PrescriptionContents | None:
        kept = self.contents_of(session, record, Purpose.SERVICE)
        return kept if kept == contents else None

    def prescriptions_of(
        self,
        session: Session,
        patient: str,
        purpose: Purpose,
    ) -> Sequence[tuple[Prescription, PrescriptionContents]]:
        rows = session.exec(
            select(Prescription, PrescriptionContent)
            .join(PrescriptionContent, col(PrescriptionContent.prescription_id) == Prescription.id)
            .where(Prescription.patient == patient)
            .order_by(col(Prescription.issued_at), col(Prescription.id))
        ).all()
        return [(record, _contents(row)) for record, row in rows]


def _contents(row: PrescriptionContent) -> PrescriptionContents:
    return PrescriptionContents.model_validate(row.model_dump(exclude={"prescription_id"}))
