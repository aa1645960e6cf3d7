"""The sequence diagram (workshop/stage/sequence.py) and its partial template: everything a span says
arrives over the network, so a hostile route, party or label must come out as text, never markup."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

import workshop.stage
from workshop.stage.sequence import PHONE, Call, participants, sequence_context, sequence_svg

TEMPLATES = Path(workshop.stage.__file__).parent / "templates"
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;'
SVG = "{http://www.w3.org/2000/svg}"


def _call(number: int, **fields) -> Call:
    defaults = {
        "from_party": PHONE,
        "to_party": "gateway",
        "method": "GET",
        "route": "/city-services/fines",
        "status": 200,
        "clear": "the citizen's session (resident ID)",
        "sealed_bytes": None,
        "opened": None,
        "start": 1_800_000_000.0 + number,
        "duration_ms": 3.5,
        "span_id": f"{number:016x}",
    }
    return Call(number=number, **(defaults | fields))


CALLS = [
    _call(1),
    _call(
        2, from_party="gateway", to_party="fines", route="/citizens/{subject}/fines", clear="resident ID (in the path)"
    ),
    _call(3, from_party="gateway", to_party=HOSTILE, route=HOSTILE, clear=HOSTILE, sealed_bytes=2048, opened=HOSTILE),
    _call(4, from_party="fines", to_party="fines", route="/me/fines", status=None),
]


def test_a_hostile_route_party_and_label_are_escaped_and_the_svg_stays_well_formed():
    svg = sequence_svg(CALLS, diagram_id="rights-step", title=HOSTILE)
    assert "<script" not in svg and "<img" not in svg and "onerror=alert(2)>" not in svg
    root = ElementTree.fromstring(svg)  # noqa: S314  # our own output; escaping done right is also well-formed XML
    assert root.tag == f"{SVG}svg"
    texts = " ".join(element.text or "" for element in root.iter(f"{SVG}text"))
    assert '"><script>' in texts  # shown as the text it is
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert title.text == HOSTILE and root.get("aria-labelledby") == "rights-step-title"
    assert (desc.text or "").startswith("4 calls between citizen's phone, gateway")


def test_each_arrow_links_to_its_entry_and_says_clear_or_sealed():
    svg = sequence_svg(CALLS, diagram_id="platform-step")
    root = ElementTree.fromstring(svg)  # noqa: S314  # our own output
    links = [element.get("href") for element in root.iter(f"{SVG}a")]
    assert links == [f"#platform-step-call-{n}" for n in (1, 2, 3, 4)]
    # each link's name is its <title>, the whole label (the drawn text may be cut short)
    labels = [element.findtext(f"{SVG}title") or "" for element in root.iter(f"{SVG}a")]
    assert "in clear: resident ID (in the path)" in labels[1]
    assert "sealed: 2048 bytes, relayed unread" in labels[2] and "→ no answer" in labels[3]
    assert participants(CALLS)[:3] == [PHONE, "gateway", "fines"]


def test_an_empty_step_is_drawn_as_saying_so_and_ids_are_checked():
    assert "No call between services was recorded" in sequence_svg([])
    with pytest.raises(ValueError, match="diagram id"):
        sequence_svg(CALLS, diagram_id='x" onload="alert(1)')


def test_the_partial_lists_every_call_as_seen_by_its_party_escaped_without_script():
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    html = environment.get_template("stage/_sequence.html").render(
        sequence_context(CALLS, diagram_id="rights-step", title="Step 1: look up my fines")
    )
    assert "<script" not in html and "<img" not in html and "onerror=" not in html.replace("onerror=alert(2)&gt;", "")
    assert html.count("<details>") == 4 and html.count("<svg") == 1
    for number in (1, 2, 3, 4):  # the arrow's link target sits inside its <details>: following it opens it
        assert re.search(rf'<details>\s*<summary>.*?</summary>\s*<div id="rights-step-call-{number}"', html, re.S)
    assert "As seen by <strong>fines</strong>" in html
    assert "Carried sealed, unread</dt>\n          <dd>2048 bytes" in html
    assert "&lt;script&gt;" in html
