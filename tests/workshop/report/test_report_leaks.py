"""No figure comes from code paths: a value written where it should not be changes the report, and a
report page shows stored names and column names as text, never as markup."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from kernel.personas import by_handle
from kernel.regime import Regime
from tests.fixtures.demo_journeys import run_demo_journeys
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.report_truth import demo_truth, mesh_stores
from workshop.report.page import render_html
from workshop.report.report import build_report
from workshop.report.truth import truth_from_document

pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS]

PATIENT = by_handle("wang-fang")
SCRIPT = "<script>alert(1)</script>"


def exposure(document: dict[str, Any]) -> dict[tuple[str, str], tuple[str, int]]:
    (section,) = document["regimes"]
    return {(cell["party"], cell["class"]): (cell["state"], cell["held"]) for cell in section["exposure"]}


def gateway_links(document: dict[str, Any], other: str) -> dict[str, Any]:
    (section,) = document["regimes"]
    (found,) = [link for link in section["links"] if set(link["parties"]) == {"gateway", other}]
    return {key["kind"]: key for key in found["keys"]}


def stray_row(mesh: Mesh, details: dict[str, Any]) -> None:
    """A journey event the rights gateway never writes (its history is NoHistory), filed under her
    gateway pseudonym as a careless developer would: written straight into the gateway's database."""
    subject = _platform_subject(mesh)
    with mesh.apps["gateway"].state.service.database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO journey_event (subject, journey, event, details, at) "
                "VALUES (:subject, 'prescriptions', 'debug', :details, CURRENT_TIMESTAMP)"
            ),
            {"subject": subject, "details": json.dumps(details, ensure_ascii=False)},
        )


def _platform_subject(mesh: Mesh) -> str:
    with mesh.apps["identity"].state.service.database.engine.connect() as connection:
        return str(
            connection.execute(
                text(
                    "SELECT s.subject FROM sector_subject s JOIN citizen c ON c.id = s.citizen_id "
                    "WHERE s.sector = 'platform' AND c.resident_id = :resident_id"
                ),
                {"resident_id": PATIENT.resident_id},
            ).scalar_one()
        )


def _health_subject(mesh: Mesh) -> str:
    with mesh.apps["prescriptions"].state.service.database.engine.connect() as connection:
        return str(connection.execute(text("SELECT patient FROM prescription")).scalars().first())


async def test_a_medication_and_a_pseudonym_written_by_mistake_show_up_in_the_matrix_and_the_links(mesh):
    journeys = await run_demo_journeys(mesh)
    truth = truth_from_document(demo_truth(journeys))
    before = build_report(truth, {Regime.RIGHTS: mesh_stores(mesh)}).document
    assert exposure(before)[("gateway", "medication")] == ("absent", 0)
    assert "pseudonym:health" not in gateway_links(before, "prescriptions")

    draft_medication = truth.residents[[r.handle for r in truth.residents].index(PATIENT.handle)].conditions[0]
    stray_row(mesh, {"medication": draft_medication.medication, "patient": _health_subject(mesh)})
    after = build_report(truth, {Regime.RIGHTS: mesh_stores(mesh)}).document
    assert exposure(after)[("gateway", "medication")] == ("pseudonymised", 1)  # under her gateway pseudonym
    leaked = gateway_links(after, "prescriptions")["pseudonym:health"]
    assert (leaked["residents"], leaked["declared"]) == (1, None)  # shown as undeclared
    changed = {key for key in exposure(after) if exposure(after)[key] != exposure(before)[key]}
    assert changed == {("gateway", "medication")}  # nothing else moved


async def test_names_and_column_names_from_the_data_are_escaped_on_the_page(mesh):
    journeys = await run_demo_journeys(mesh)
    document = demo_truth(journeys)
    document["residents"][0]["name"] = SCRIPT  # a resident with a hostile name ...
    stray_row(mesh, {SCRIPT: PATIENT.resident_id, "x": f"{SCRIPT} and {PATIENT.phone}"})  # ... and a column
    report = build_report(truth_from_document(document), {Regime.RIGHTS: mesh_stores(mesh)})
    assert any(SCRIPT in path for cell in report.document["regimes"][0]["exposure"] for path in cell["where"])
    page = render_html(report.document)
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    # self-contained: nothing fetched from anywhere
    assert not any(marker in page for marker in ("src=", "href=", "<link", "@import", "url("))
