"""``build_report`` on what the services really stored after the demo personas' journeys (in-process,
both regimes, SQLite and PostgreSQL), every figure checked against one counted here from the truth the
test built itself (kernel/personas.py, the services' demo seeds, the journeys it ran)."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.personas import PERSONAS
from kernel.regime import Regime
from tests.fixtures.demo_journeys import run_demo_journeys
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.mesh import Mesh
from tests.fixtures.report_truth import demo_truth, mesh_stores, plate_of, succeeded
from workshop.report.report import build_report
from workshop.report.truth import truth_from_document

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("all")]

EVERYONE = {persona.handle for persona in PERSONAS}
CAR_OWNERS = {persona.handle for persona in PERSONAS if plate_of(persona)}
MARRIED = {persona.handle for persona in PERSONAS if persona.spouse}


async def reported(mesh: Mesh) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    journeys = await run_demo_journeys(mesh)
    report = build_report(truth_from_document(demo_truth(journeys)), {mesh.regime: mesh_stores(mesh)})
    (section,) = report.document["regimes"]
    return section, journeys


def cell(section: dict[str, Any], party: str, attribute: str) -> tuple[str, int]:
    (found,) = [c for c in section["exposure"] if c["party"] == party and c["class"] == attribute]
    return found["state"], found["held"]


def link(section: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    (found,) = [item for item in section["links"] if set(item["parties"]) == {a, b}]
    return found


def breach(section: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [item for item in section["breaches"] if item["name"] == name]
    return found


async def test_the_gateway_holds_the_medication_of_every_platform_patient_and_of_no_rights_patient(mesh):
    section, journeys = await reported(mesh)
    patients = succeeded(journeys, mesh.regime.value, "prescriptions")
    assert patients  # the check is not vacuous
    if mesh.regime is Regime.PLATFORM:
        assert cell(section, "gateway", "medication") == ("clear", len(patients))
        assert cell(section, "gateway", "diagnosis") == ("clear", len(patients))
        # the hospital keeps the contents too: the demo seed's and the consultation's, one patient
        assert cell(section, "prescriptions", "medication") == ("clear", len(patients))
    else:
        assert cell(section, "gateway", "medication") == ("absent", 0)
        assert cell(section, "prescriptions", "medication") == ("absent", 0)  # the contents went to her pod
        assert cell(section, "pod", "medication") == ("pseudonymised", len(patients))


async def test_who_holds_identities_offences_and_marriages(mesh):
    section, _ = await reported(mesh)
    platform = mesh.regime is Regime.PLATFORM
    assert cell(section, "identity", "resident_id") == ("clear", len(EVERYONE))
    assert cell(section, "identity", "phone") == ("clear", len(EVERYONE))
    assert cell(section, "fines", "plate") == ("clear", len(CAR_OWNERS))
    assert cell(section, "fines", "offences") == ("clear" if platform else "pseudonymised", len(CAR_OWNERS))
    assert cell(section, "appointments", "marital") == ("clear" if platform else "pseudonymised", len(MARRIED))
    assert cell(section, "fines", "resident_id") == (("clear", len(CAR_OWNERS)) if platform else ("absent", 0))
    assert cell(section, "credit" if platform else "gateway", "credit") == (
        ("clear", 1) if platform else ("absent", 0)  # Chen Jun's overdue fine, reported by the sweep
    )
    # the parcel courier gets the address and nothing else, in both regimes
    courier = {c["class"]: c["state"] for c in section["exposure"] if c["party"] == "courier" and c["held"]}
    assert courier == {"address": "clear"}


async def test_platform_departments_join_on_the_resident_id_and_rights_ones_share_nothing_unexplained(mesh):
    section, journeys = await reported(mesh)
    both = CAR_OWNERS & MARRIED  # a record at the traffic police and at the civil affairs bureau
    assert both
    departments = link(section, "fines", "appointments")
    payers = succeeded(journeys, mesh.regime.value, "fines")
    if mesh.regime is Regime.PLATFORM:
        keys = {key["kind"]: key["residents"] for key in departments["keys"]}
        assert keys["resident-id"] == len(both)
        assert {key["kind"]: key["residents"] for key in link(section, "gateway", "fines")["keys"]}[
            "resident-id"
        ] == len(payers)
        assert all(key["declared"] is None for item in section["links"] for key in item["keys"])
    else:
        assert departments["linked"] == 0
        identifiers = [
            (item["parties"], key)
            for item in section["links"]
            for key in item["keys"]
            if not key["kind"].startswith(("quasi:", "timestamps", "amounts"))
        ]
        assert identifiers  # there are shared identifiers (the wallet's payments, the issuer's pseudonyms) ...
        assert [
            (parties, key["kind"]) for parties, key in identifiers if not key["declared"]
        ] == []  # ... each explained
        wallet = {key["kind"]: key for key in link(section, "gateway", "fines")["keys"]}
        assert wallet["payment-reference"]["residents"] == len(payers) and wallet["payment-reference"]["declared"]


async def test_breaches_recounted(mesh):
    section, journeys = await reported(mesh)
    regime = mesh.regime.value
    # who the gateway saw do something sensitive: a fine paid (offences) or a prescription (health)
    users = succeeded(journeys, regime, "fines") | succeeded(journeys, regime, "prescriptions")
    gateway = breach(section, "gateway")
    identity = breach(section, "identity")
    assert identity["affected"] == len(EVERYONE) and identity["reidentified"] == 0  # identities, nothing sensitive
    assert sum(identity["special_categories"].values()) == 0
    if mesh.regime is Regime.PLATFORM:
        assert gateway["reidentified"] == len(users)
        assert gateway["special_categories"]["health"] == len(succeeded(journeys, regime, "prescriptions"))
        assert breach(section, "credit")["special_categories"]["credit"] == 1
    else:
        assert gateway["reidentified"] == 0 and gateway["special_categories"] == {
            "health": 0,
            "marital": 0,
            "credit": 0,
        }
        pod = breach(section, "pod")
        patients = succeeded(journeys, regime, "prescriptions")
        assert (pod["special_categories"]["health"], pod["reidentified"], pod["pseudonymous_only"]) == (
            len(patients),
            0,
            len(patients),
        )
        # the identity provider's index is what turns the pod's pseudonym into a name
        assert breach(section, "identity + pod")["reidentified"] == len(patients)
    everyone = breach(section, "everyone")
    assert everyone["affected"] == len(EVERYONE)
    assert everyone["special_categories"]["marital"] == len(MARRIED)


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_the_same_stores_give_the_same_report_byte_for_byte(mesh):
    journeys = await run_demo_journeys(mesh)
    truth = truth_from_document(demo_truth(journeys))
    first = build_report(truth, {mesh.regime: mesh_stores(mesh)}).to_json()
    second = build_report(truth, {mesh.regime: mesh_stores(mesh)}).to_json()
    assert first == second and '"schema": "citygate.report/1"' in first
