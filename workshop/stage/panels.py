"""The who-learned-what panel beside a phone: one persona's figures or the whole population's matrix,
with the current step's changes marked (``workshop.stage.changes``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from kernel.personas import Persona
from kernel.regime import Regime
from workshop.report.sources import MissingData
from workshop.stage.changes import ChangeTracker
from workshop.stage.evidence import Evidence, matrix, matrix_figures, party_views, persona_figures


class View(StrEnum):
    PERSONA = "persona"
    POPULATION = "population"


def panel_context(
    evidence: Evidence, tracker: ChangeTracker, regime: Regime, persona: Persona, view: View
) -> dict[str, Any]:
    """What the panel template needs: the figures, or what is missing while the services start."""
    base: dict[str, Any] = {"regime": regime.value, "persona": persona, "view": view.value}
    try:
        findings, population = evidence.findings(regime)
    except MissingData as error:
        return {**base, "missing": error.missing}
    if view is View.POPULATION:
        changed = tracker.observe((regime, View.POPULATION), matrix_figures(findings))
        return {**base, "matrix": matrix(findings, changed, population=population)}
    figures = persona_figures(findings, persona.handle)
    changed = tracker.observe((regime, persona.handle), figures)
    return {**base, "parties": party_views(findings, figures, changed), "changes": len(changed)}


def end_step(evidence: Evidence, tracker: ChangeTracker, persona: Persona) -> None:
    """On "After this step": each regime's panels take in the step's last changes, then a new step begins."""
    for regime in Regime:
        try:
            findings, _ = evidence.findings(regime)
        except MissingData:
            continue
        tracker.observe((regime, persona.handle), persona_figures(findings, persona.handle))
        tracker.observe((regime, View.POPULATION), matrix_figures(findings))
        tracker.end_step((regime, persona.handle))
        tracker.end_step((regime, View.POPULATION))
