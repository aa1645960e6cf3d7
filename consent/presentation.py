"""An artefact as people read it: the summary in plain words, and the shape every caller is shown."""

from __future__ import annotations

from consent.models import ArtefactPublic, ConsentArtefact, Mode
from consent.vocabulary import CATEGORIES, LEGAL_BASIS_WORDS, PROCESSING, PURPOSES, LegalBasis


def summary_of(artefact: ConsentArtefact) -> str:
    """The artefact as the citizen reads it."""
    who = ", ".join(artefact.recipients)
    what = ", ".join(CATEGORIES[c] for c in artefact.categories)
    why = "; ".join(PURPOSES[p] for p in artefact.purposes)
    doing = ", ".join(PROCESSING[p] for p in artefact.processing)
    until = artefact.valid_until.strftime("%d %B %Y")
    if artefact.resources:
        what = f"{what} (only {', '.join(artefact.resources)})"
    if artefact.legal_basis == LegalBasis.CONSENT:
        once = "once" if artefact.mode == Mode.ONE_TIME else f"until {until}"
        words = f"{artefact.controller} asks that {who} may {doing} {what}, {why}, {once}."
        return words + (f" In their words: {artefact.notice}" if artefact.notice else "")
    basis = LEGAL_BASIS_WORDS[LegalBasis(artefact.legal_basis)]
    return (
        f"{artefact.controller} may {doing} {what} for {who}, {why}, until {until}, because of {basis}"
        f" ({artefact.law_reference}); this does not need your consent and cannot be withdrawn here."
    )


def public(artefact: ConsentArtefact) -> ArtefactPublic:
    return ArtefactPublic.model_validate(
        artefact.model_dump()
        | {
            "summary": summary_of(artefact),
        }
    )
