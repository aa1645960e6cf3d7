"""The stage's page as a browser gets it: both phones framed with the chosen persona, the pickers, and
a policy that lets no script but its own run and nobody frame it; what a hostile address gets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kernel.personas import PERSONAS
from kernel.regime import Regime
from tests.fixtures.problems import assert_problem
from tests.fixtures.stage import iframes, stage_client

HOSTILE = '"><script>alert(1)</script>'


async def test_the_page_frames_both_phones_with_the_chosen_persona(tmp_path: Path) -> None:
    async with stage_client(tmp_path) as client:
        page = await client.get("/", params={"persona": "wang-fang"})
    assert page.status_code == 200
    framed = {frame["id"]: frame for frame in iframes(page.text)}
    assert framed["phone-platform"]["src"] == "http://127.0.0.1:8100/app/?persona=wang-fang"
    # the citizen's app opens the journey picked (the fines by default); the super-app its grid
    assert framed["phone-rights"]["src"] == "http://127.0.0.1:8210/journeys/fines?persona=wang-fang"
    assert "Platform super-app (China's model)" in str(framed["phone-platform"]["title"])
    assert "Citizen's own app (rights regime)" in str(framed["phone-rights"]["title"])
    # left the platform, right the citizen's own app
    assert page.text.index('id="phone-platform"') < page.text.index('id="phone-rights"')
    for regime in ("platform", "rights"):
        assert f'id="sequence-{regime}"' in page.text
        assert f'hx-get="/exposure/{regime}?persona=wang-fang&amp;view=persona"' in page.text
    for persona in PERSONAS:
        assert f'<option value="{persona.handle}"' in page.text
    assert '<option value="wang-fang" selected>' in page.text
    assert re.search(r'<option value="fines" selected>Pay a traffic fine</option>', page.text)
    # every journey can be picked: both phones have them all
    assert re.search(r'<option value="appointments">Book a divorce appointment[^<]*</option>', page.text)


async def test_the_phones_follow_the_base_port(tmp_path: Path) -> None:
    async with stage_client(tmp_path, base_port=9100) as client:
        page = await client.get("/")
    srcs = sorted(str(frame["src"]) for frame in iframes(page.text))
    assert srcs == ["http://127.0.0.1:9100/app/?persona=li-wei", "http://127.0.0.1:9210/journeys/fines?persona=li-wei"]
    frames = (
        "http://127.0.0.1:9100 http://127.0.0.1:9210 http://127.0.0.1:9101 http://127.0.0.1:9200 http://127.0.0.1:9201"
    )
    assert f"frame-src {frames};" in page.headers["content-security-policy"]


async def test_a_spouse_can_hand_the_phones_to_the_partner(tmp_path: Path) -> None:
    async with stage_client(tmp_path) as client:
        husband = await client.get("/", params={"persona": "chen-jun"})
        single = await client.get("/", params={"persona": "li-wei"})
    assert re.search(r'id="partner-switch" href="/\?persona=zhang-min&amp;journey=fines"', husband.text)
    assert "partner-switch" not in single.text


async def test_only_the_stages_own_scripts_run_and_nobody_frames_it(tmp_path: Path) -> None:
    async with stage_client(tmp_path) as client:
        page = await client.get("/")
        htmx = await client.get("/assets/vendor/htmx/htmx.min.js")
        style = await client.get("/static/stage.css")
    policy = dict(directive.strip().split(" ", 1) for directive in page.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    # the phones, and the logins they go through inside their frames (gateways, identity providers)
    assert policy["frame-src"] == (
        "http://127.0.0.1:8100 http://127.0.0.1:8210 http://127.0.0.1:8101 http://127.0.0.1:8200 http://127.0.0.1:8201"
    )
    assert "unsafe" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    # no inline script, no inline handler, no inline style: the policy would block them
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page.text) == []
    assert not re.search(r"\son[a-z]+=", page.text) and not re.search(r"\sstyle=", page.text)
    assert not re.search(r"\shx-on", page.text)
    assert htmx.status_code == 200 and "javascript" in htmx.headers["content-type"]
    assert style.status_code == 200 and "text/css" in style.headers["content-type"]


@pytest.mark.parametrize("path", ["/", "/exposure/rights", "/step"])
async def test_a_persona_that_is_no_demo_persona_is_refused_and_never_echoed(tmp_path: Path, path: str) -> None:
    async with stage_client(tmp_path) as client:
        response = await client.get(path, params={"persona": HOSTILE})
        too_long = await client.get(path, params={"persona": "a" * 65})
    assert_problem(response, 404, "unknown-persona")
    assert "<script>" not in response.text and "alert" not in response.text
    assert_problem(too_long, 422, "invalid-request")


async def test_an_unknown_journey_or_regime_is_refused(tmp_path: Path) -> None:
    async with stage_client(tmp_path) as client:
        journey = await client.get("/", params={"journey": HOSTILE})
        regime = await client.get("/exposure/eu", params={"persona": "li-wei"})
    assert_problem(journey, 404, "unknown-journey")
    assert "<script>" not in journey.text
    assert_problem(regime, 422, "invalid-request")


async def test_before_the_services_wrote_anything_the_panel_says_what_it_waits_for(tmp_path: Path) -> None:
    # the missing files' paths are shown: a data root whose name is markup is shown as text
    data_dir = tmp_path / "<img src=x>"
    async with stage_client(data_dir) as client:
        panel = await client.get("/exposure/platform", params={"persona": "li-wei"})
    assert panel.status_code == 200
    assert "Waiting for the services' data" in panel.text
    assert "&lt;img src=x&gt;/platform/identity/identity.db" in panel.text
    assert "<img" not in panel.text


async def test_under_each_phone_a_region_waits_for_the_steps_sequence_diagram(tmp_path: Path) -> None:
    asked: list[Regime] = []

    def sequence_of(regime: Regime) -> None:
        asked.append(regime)
        return None

    async with stage_client(tmp_path, sequence_of=sequence_of) as client:
        page = await client.get("/")
        region = await client.get("/sequence/rights")
    for html in (page.text, region.text):
        assert "The step's calls between services appear here" in html
    assert 'id="sequence-platform"' in page.text and 'id="sequence-rights"' in page.text
    assert region.text.lstrip().startswith('<div id="sequence-rights"')
    assert 'hx-trigger="every 4s, step-ended from:body"' in region.text
    assert asked == [Regime.PLATFORM, Regime.RIGHTS, Regime.RIGHTS]
