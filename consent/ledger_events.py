"""What one ledger event says, in clear: an event about one artefact or one access, as canonical JSON.

An event names the citizen only by the pseudonym of the sector it concerns and never holds the
data itself. Even so it is not published: the public leaf is only a commitment to it
(``consent.commitments``), because two events of one deposit, one with the hospital's pseudonym and
one with the pod's, would otherwise let anyone join the sectors by their timing.
"""

from __future__ import annotations

from datetime import datetime

from consent.models import ConsentArtefact
from consent.receipts import canonical, timestamp

ENTRY_VERSION = 1


def artefact_event(kind: str, artefact: ConsentArtefact, at: datetime, *, reason: str | None = None) -> bytes:
    document = {
        "v": ENTRY_VERSION,
        "kind": kind,
        "at": timestamp(at),
        "artefact": artefact.id,
        "version": artefact.version,
        "subject": artefact.subject,
        "subject_known_to": artefact.controller,
        "controller": artefact.controller,
        "recipients": artefact.recipients,
        "purposes": artefact.purposes,
        "categories": artefact.categories,
        "legal_basis": artefact.legal_basis,
    }
    if reason:
        document["reason"] = reason
    return canonical(document)


def access_event(
    *,
    permitted: bool,
    at: datetime,
    holder: str,
    subject: str,
    recipient: str,
    category: str,
    purpose: str,
    processing: str,
    artefact_id: str | None,
    resource: str | None,
    reason: str | None,
) -> bytes:
    document = {
        "v": ENTRY_VERSION,
        "kind": "access.permitted" if permitted else "access.refused",
        "at": timestamp(at),
        "holder": holder,
        "subject": subject,
        "subject_known_to": holder,
        "recipient": recipient,
        "category": category,
        "purpose": purpose,
        "processing": processing,
        "artefact": artefact_id,
    }
    if resource:
        document["resource"] = resource
    if reason:
        document["reason"] = reason
    return canonical(document)


def erasure_event(*, at: datetime, holder: str, subject: str, scope: str) -> bytes:
    """That a holder erased a citizen's data: no trace of what it was."""
    return canonical(
        {
            "v": ENTRY_VERSION,
            "kind": "erasure",
            "at": timestamp(at),
            "holder": holder,
            "subject": subject,
            "subject_known_to": holder,
            "scope": scope,
        }
    )
