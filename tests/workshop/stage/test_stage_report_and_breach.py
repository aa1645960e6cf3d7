"""The report page and the breach simulator over both regimes' real stored data (two meshes on one data
root, Li Wei's fine paid in each): the figures are ``citygate report``'s own, side by side, the linkage
graph labels each link with its join key, and a hostile choice of parties is a problem, not a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kernel.regime import Regime
from tests.fixtures.demo_journeys import pay_a_fine
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.stage import stage_client
from workshop.report.report import build_report
from workshop.report.sources import database_urls, read_services
from workshop.stage.evidence import personas_truth

GATEWAY_AND_IDENTITY = "the gateway + the identity provider"


@pytest.fixture
async def both_regimes(tmp_path: Path) -> AsyncIterator[Path]:
    """Both regimes' services on one data root, as ``citygate up`` lays them out, each after a paid fine."""
    async with (
        Mesh(Regime.PLATFORM, tmp_path, started=("all",)) as platform,
        Mesh(Regime.RIGHTS, tmp_path, started=("all",)) as rights,
    ):
        await pay_a_fine(platform)
        await pay_a_fine(rights)
        yield tmp_path


def report_of(data_root: Path) -> dict[str, Any]:
    """What ``citygate report --format json`` says of the same data (the demo personas as the truth)."""
    stores = {regime: read_services(database_urls(data_root, regime)) for regime in Regime}
    return {regime["regime"]: regime for regime in build_report(personas_truth(), stores).document["regimes"]}


def figure(html: str, regime: str, name: str) -> str:
    section = html[html.index(f'id="blast-{regime}"') :]
    found = re.search(rf'data-figure="{name}">([^<]+)<', section)
    assert found, section
    return found.group(1)


async def test_the_report_draws_both_regimes_from_the_reports_own_figures(both_regimes: Path) -> None:
    expected = report_of(both_regimes)
    async with stage_client(both_regimes) as client:
        page = await client.get("/report")
    assert page.status_code == 200
    html = page.text
    assert html.index('id="report-platform"') < html.index('id="report-rights"')  # side by side, platform left
    for regime, section in expected.items():
        assert f"<title>exposure matrix, {regime} regime</title>" in html
        assert f"<title>linkage graph, {regime} regime</title>" in html
        linked = [link for link in section["links"] if link["linked"]]
        assert linked, regime  # a paid fine links the payer's records somewhere in either regime
        for link in linked:
            # each link is drawn labelled with its strongest join key, and listed with every key
            assert f'<tr data-pair="{"+".join(link["parties"])}">' in html
            strongest = link["keys"][0]["label"]
            assert re.search(rf'class="join-key"[^>]*>{re.escape(strongest)}( \+\d+)?</text>', html), strongest
        for colluding in section["colluding_sets"]:
            assert f'<tr data-set="{colluding["name"]}">' in html
    # the platform's super-app holds the payer by resident ID and shares it with the traffic police
    platform_pair = next(link for link in expected["platform"]["links"] if link["parties"] == ["gateway", "fines"])
    assert "resident ID" in {key["label"] for key in platform_pair["keys"]}
    assert "(the demo personas: no population yet" in html
    assert "No population run yet" in html  # no journeys timed: no convenience chart to draw


async def test_the_breach_of_a_colluding_set_shows_the_blast_radius_in_both_regimes(both_regimes: Path) -> None:
    expected = report_of(both_regimes)
    async with stage_client(both_regimes) as client:
        page = await client.get("/breach", params={"set": GATEWAY_AND_IDENTITY})
        fragment = await client.get("/breach", params={"set": GATEWAY_AND_IDENTITY}, headers={"HX-Request": "true"})
        gateway_only = await client.get("/breach", params={"party": "gateway"}, headers={"HX-Request": "true"})
    assert page.status_code == 200 and '<form id="breach-form"' in page.text
    assert f'value="{GATEWAY_AND_IDENTITY}" checked' in page.text.replace("&#43;", "+")
    assert fragment.text.lstrip().startswith('<div id="blast"') and "<html" not in fragment.text
    for regime in ("platform", "rights"):
        breach = next(b for b in expected[regime]["breaches"] if b["name"] == GATEWAY_AND_IDENTITY)
        assert figure(fragment.text, regime, "affected") == f"{breach['affected']:,} of 5"
        assert figure(fragment.text, regime, "reidentified") == f"{breach['reidentified']:,}"
        assert figure(fragment.text, regime, "sealed") == f"{breach['sealed']:,}"
        colluding = next(c for c in expected[regime]["colluding_sets"] if c["name"] == GATEWAY_AND_IDENTITY)
        assert figure(fragment.text, regime, "joined") == f"{colluding['joined']:,}"
    # who is exposed, by name: the platform gateway alone gives Li Wei's resident ID away; the rights one does not
    platform, rights = gateway_only.text.split('id="blast-rights"')
    li_wei = re.search(r'<li data-persona="li-wei">(.*?)</li>', platform, re.S)
    assert li_wei and "resident ID" in li_wei.group(1)
    li_wei_rights = re.search(r'<li data-persona="li-wei">(.*?)</li>', rights, re.S)
    assert li_wei_rights is None or "resident ID" not in li_wei_rights.group(1)


async def test_a_party_only_one_regime_has_is_named_missing_in_the_other(tmp_path: Path) -> None:
    async with Mesh(Regime.PLATFORM, tmp_path, started=("all",)), stage_client(tmp_path) as client:
        credit = await client.get("/breach", params={"party": "credit"}, headers={"HX-Request": "true"})
    assert credit.status_code == 200
    assert "Stolen: <strong>credit</strong>" in credit.text.split('id="blast-rights"')[0]
    # the rights regime has no credit platform; its databases are not there at all in this test
    assert "Missing:" in credit.text


@pytest.mark.parametrize(
    "params",
    [
        {"party": '"><script>alert(1)</script>'},
        {"party": "x" * 10_000},
        {"party": ["gateway"] * 33},
        {"party": "../identity"},
        {"set": "everyone; drop"},
        {"set": "y" * 101},
    ],
    ids=["markup", "huge-name", "too-many", "path", "unknown-set", "set-too-long"],
)
async def test_a_hostile_choice_of_parties_is_a_problem(tmp_path: Path, params: dict[str, Any]) -> None:
    async with stage_client(tmp_path) as client:
        response = await client.get("/breach", params=params)
    body = assert_problem(response, 422)
    assert body["type"] in ("urn:citygate:problem:unknown-party", "urn:citygate:problem:invalid-request")


def test_the_linkage_graph_escapes_join_keys_named_after_stored_data() -> None:
    # a shared record id is labelled with the table and column it was found in: stored data, attacker-ish
    from workshop.report.page import linkage_graph

    hostile = '<script>alert(1)</script>"'
    regime = {
        "regime": "rights",
        "parties": [{"key": "gateway"}, {"key": "pod"}],
        "links": [
            {
                "parties": ["gateway", "pod"],
                "linked": 1,
                "keys": [{"kind": "reference:x", "label": hostile, "residents": 1, "declared": None}],
            }
        ],
    }
    drawn = linkage_graph(regime)
    assert hostile not in drawn
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in drawn
