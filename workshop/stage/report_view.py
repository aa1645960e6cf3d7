"""The report page's pieces: ``citygate report``'s document (``workshop.stage.evidence``) drawn with the
report's own pictures (``workshop.report.page``: heat map, linkage graph, blast radius, convenience).

Those pictures are SVG built with every data-derived text escaped (``html.escape``), and hold no
inline style or script, so the stage's policy lets them through; they are marked safe here, once, so
the template can place them. Everything else the template escapes itself.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from workshop.report import page
from workshop.report.sources import MissingData
from workshop.stage.evidence import Evidence


def report_context(evidence: Evidence) -> dict[str, Any]:
    try:
        found = evidence.report_document()
    except MissingData as error:
        return {"missing": error.missing}
    document = found.document
    labels = {item["key"]: item["label"] for item in document["classes"]}
    regimes = [
        {
            "regime": regime["regime"],
            "residents": regime["residents"],
            "parties": regime["parties"],
            "heat_map": Markup(page.heat_map(regime, labels)),  # noqa: S704 - escaped by workshop.report.page
            "linkage_graph": Markup(page.linkage_graph(regime)),  # noqa: S704
            "blast_bars": Markup(page.blast_bars(regime)),  # noqa: S704
            "links": [link for link in regime["links"] if link["linked"]],
            "colluding_sets": regime["colluding_sets"],
        }
        for regime in document["regimes"]
    ]
    has_runs = any(regime["convenience"] for regime in document["regimes"])
    return {
        "population": found.population,
        "regime_missing": found.missing,
        "residents": document["population"]["residents"],
        "regimes": regimes,
        "convenience": Markup(page.convenience_chart(document)) if has_runs else None,  # noqa: S704
    }
