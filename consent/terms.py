"""What a consent may ask and a legal basis may record: terms the citizen can be told, bases the law gives.

A request names its purposes, categories and processing in a closed vocabulary
(``consent.vocabulary``), so every term has plain words for the citizen; a department records only
a legal basis a law declared in this deployment gives it (``kernel.legal_bases``), never one it made up.
"""

from __future__ import annotations

from typing import Any

from consent.errors import LegalBasisNotInLaw, UnknownTerm
from consent.models import LegalBasisCreate
from consent.vocabulary import CATEGORIES, PROCESSING, PURPOSES
from kernel.legal_bases import LEGAL_BASES, DeclaredLegalBasis, declared_for


def check_terms(purposes: list[str], categories: list[str], processing: list[str]) -> None:
    unknown = {
        "purposes": [p for p in purposes if p not in PURPOSES],
        "categories": [c for c in categories if c not in CATEGORIES],
        "processing": [p for p in processing if p not in PROCESSING],
    }
    if any(unknown.values()):
        raise UnknownTerm(
            unknown={k: v for k, v in unknown.items() if v},
            known={"purposes": sorted(PURPOSES), "categories": sorted(CATEGORIES), "processing": sorted(PROCESSING)},
        )


def declared_in_law(
    *,
    controller: str,
    legal_basis: str,
    law_reference: str | None,
    purposes: list[str],
    categories: list[str],
    processing: list[str],
    recipients: list[str],
) -> bool:
    """Whether some law of kernel/legal_bases.py gives ``controller`` all of this."""
    return any(
        law.covers(
            controller=controller,
            legal_basis=legal_basis,
            law_reference=law_reference or "",
            purposes=purposes,
            categories=categories,
            processing=processing,
            recipients=recipients,
        )
        for law in LEGAL_BASES
    )


def check_declared_in_law(controller: str, body: LegalBasisCreate) -> None:
    """A department records only a basis the law gives it (kernel/legal_bases.py), never one it made up."""
    if not declared_in_law(
        controller=controller,
        legal_basis=body.legal_basis,
        law_reference=body.law_reference,
        purposes=body.purposes,
        categories=body.categories,
        processing=body.processing,
        recipients=body.recipients or [controller],
    ):
        raise LegalBasisNotInLaw(controller, declared=[_declared_terms(law) for law in declared_for(controller)])


def _declared_terms(law: DeclaredLegalBasis) -> dict[str, Any]:
    return {
        "legal_basis": law.legal_basis,
        "law_reference": law.law_reference,
        "purposes": sorted(law.purposes),
        "categories": sorted(law.categories),
        "processing": sorted(law.processing),
        "recipients": sorted(law.recipients),
    }
