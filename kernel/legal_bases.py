"""The law, as far as this city's services rely on it: which department may process what without consent.

A legal basis other than consent (GDPR Art. 6(1)(b)–(e)) is not something a department grants
itself: it is what a law gives one controller, for named purposes, categories of data, kinds of
processing and recipients. This table is that law, in one readable place like ``kernel/access.py``.
The consent service records a legal basis only when this table declares it (anything else is
refused and nothing is written), and a recorded basis covers only the controller it names.

Declare here exactly what the journeys rely on; a new basis is a change to this file, reviewed as
a change to the law the deployment claims to follow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeclaredLegalBasis:
    """What one law lets one controller do with one citizen's data without asking them."""

    controller: str
    legal_basis: str  # a DPV legal-basis term other than dpv:Consent
    law_reference: str  # the law relied on, shown to the citizen verbatim
    purposes: frozenset[str]
    categories: frozenset[str]
    processing: frozenset[str]
    recipients: frozenset[str]

    def covers(
        self,
        *,
        controller: str,
        legal_basis: str,
        law_reference: str,
        purposes: list[str],
        categories: list[str],
        processing: list[str],
        recipients: list[str],
    ) -> bool:
        """Whether a basis recorded with these terms stays within what this law allows (a subset of it)."""
        return (
            controller == self.controller
            and legal_basis == self.legal_basis
            and law_reference == self.law_reference
            and set(purposes) <= self.purposes
            and set(categories) <= self.categories
            and set(processing) <= self.processing
            and set(recipients) <= self.recipients
        )


# Medical records must be kept, and shown to the patient on request: in a European deployment GDPR
# Art. 9(2)(h) with the member state's retention law and Art. 15 (her right of access), in China the
# Prescription Administration Measures, art. 50.
MEDICAL_RECORDS_RETENTION = "GDPR Art. 6(1)(c), 9(2)(h) and 15; national medical-records retention law"

LEGAL_BASES: tuple[DeclaredLegalBasis, ...] = (
    # the hospital deposits each prescription it issues in the patient's pod and keeps it there (Store),
    # and reads it back only to show it to her (Use, on her own /me routes: Art. 15)
    DeclaredLegalBasis(
        controller="prescriptions",
        legal_basis="dpv:LegalObligation",
        law_reference=MEDICAL_RECORDS_RETENTION,
        purposes=frozenset({"dpv:LegalCompliance"}),
        categories=frozenset({"pd:Prescription"}),
        processing=frozenset({"dpv:Store", "dpv:Use"}),
        recipients=frozenset({"prescriptions"}),
    ),
)


def declared_for(controller: str) -> list[DeclaredLegalBasis]:
    """Every basis the law gives ``controller`` (what a refusal may show it: the law is public)."""
    return [basis for basis in LEGAL_BASES if basis.controller == controller]
