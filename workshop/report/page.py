"""The report as one self-contained, printable HTML page with inline SVG pictures: the exposure matrix
as a heat map, the linkage graph, blast-radius bars and the convenience comparison. No external
assets, no script; every text that comes from the data (party and column names, JSON member names,
labels) is escaped, because stored data is attacker-ish input."""

from __future__ import annotations

import math
from html import escape
from typing import Any

STATE_COLOURS = {"clear": "#c0392b", "pseudonymised": "#d68910", "sealed": "#2e86c1", "absent": "#f4f6f7"}
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","PingFang SC",sans-serif}
body{margin:2em;color:#222;max-width:1200px}
h1{font-size:1.6em}h2{border-bottom:2px solid #444;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
td:first-child,th:first-child{text-align:left}.undeclared{color:#c0392b;font-weight:bold}.note{color:#555;font-size:.9em}
svg text{font-family:inherit}@media print{h2{page-break-before:always}body{margin:0}}
"""


def render_html(document: dict[str, Any]) -> str:
    population = document["population"]
    labels = {item["key"]: item["label"] for item in document["classes"]}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>citygate report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>citygate report: who learned what, what links, what a breach exposes</h1>",
        f"<p class='note'>{population['residents']:,} synthetic residents (seed {escape(str(population['seed']))}). "
        "Each cell counts the residents whose attribute the party holds, in its strongest state: "
        + " ".join(f"<span style='color:{colour}'>■</span> {escape(state)}" for state, colour in STATE_COLOURS.items())
        + ". How it is counted: docs/contrast.md.</p>",
    ]
    for regime in document["regimes"]:
        parts.append(f"<h2>{escape(regime['regime'])} regime</h2>")
        parts.append("<h3>Exposure matrix</h3>")
        parts.append(heat_map(regime, labels))
        parts.append(_where_found(regime, labels))
        parts.append("<h3>Linkage graph</h3>")
        parts.append(linkage_graph(regime))
        parts.append(_links_table(regime))
        parts.append("<h3>Blast radius of a breach</h3>")
        parts.append(blast_bars(regime))
        parts.append(_breach_table(regime))
    parts.append("<h2>Convenience</h2>")
    parts.append(convenience_chart(document))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def heat_map(regime: dict[str, Any], labels: dict[str, str]) -> str:
    parties = [party["key"] for party in regime["parties"]]
    cells = {(cell["party"], cell["class"]): cell for cell in regime["exposure"]}
    left, top, width, height = 190, 90, 86, 24
    total = max(regime["residents"], 1)
    svg_width, svg_height = left + width * len(parties) + 10, top + height * len(labels) + 10
    out = [_svg_open(svg_width, svg_height, f"exposure matrix, {regime['regime']} regime")]
    for column, party in enumerate(parties):
        x = left + column * width + width / 2
        out.append(
            f'<text x="{x:.1f}" y="{top - 8}" font-size="11" text-anchor="start" '
            f'transform="rotate(-35 {x:.1f} {top - 8})">{escape(party)}</text>'
        )
    for row, (key, label) in enumerate(labels.items()):
        y = top + row * height
        out.append(f'<text x="{left - 6}" y="{y + 16}" font-size="12" text-anchor="end">{escape(label)}</text>')
        for column, party in enumerate(parties):
            cell = cells[(party, key)]
            share = cell["held"] / total
            opacity = 0.0 if cell["state"] == "absent" else 0.25 + 0.75 * min(share, 1.0)
            x = left + column * width
            out.append(
                f'<rect x="{x}" y="{y}" width="{width - 2}" height="{height - 2}" '
                f'fill="{STATE_COLOURS[cell["state"]]}" '
                f'fill-opacity="{opacity:.2f}" stroke="#ddd"><title>{escape(party)} — {escape(label)}: '
                f"{escape(cell['state'])}, {cell['held']:,} of {total:,}</title></rect>"
            )
            shown = "·" if cell["state"] == "absent" else f"{cell['held']:,}"
            out.append(
                f'<text x="{x + width / 2 - 1:.1f}" y="{y + 16}" font-size="11" text-anchor="middle">'
                f"{escape(shown)}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def _where_found(regime: dict[str, Any], labels: dict[str, str]) -> str:
    rows = [
        "<details><summary>Where each attribute was found (table.column, JSON member)</summary>"
        "<table><tr><th>party</th><th>attribute</th><th>state</th><th>residents</th><th>found in</th></tr>"
    ]
    for cell in regime["exposure"]:
        if cell["held"]:
            rows.append(
                f"<tr><td>{escape(cell['party'])}</td><td>{escape(labels.get(cell['class'], cell['class']))}</td>"
                f"<td>{escape(cell['state'])}</td><td>{cell['held']:,}</td>"
                f"<td style='text-align:left'>{escape(', '.join(cell['where']))}</td></tr>"
            )
    rows.append("</table></details>")
    return "".join(rows)


def linkage_graph(regime: dict[str, Any]) -> str:
    parties = [party["key"] for party in regime["parties"]]
    size, radius = 460, 170
    centre = size / 2
    places = {
        party: (
            centre + radius * math.cos(2 * math.pi * number / len(parties) - math.pi / 2),
            centre + radius * math.sin(2 * math.pi * number / len(parties) - math.pi / 2),
        )
        for number, party in enumerate(parties)
    }
    most = max((link["linked"] for link in regime["links"]), default=0) or 1
    out = [_svg_open(size, size, f"linkage graph, {regime['regime']} regime")]
    for link in regime["links"]:
        if not link["linked"]:
            continue
        (x1, y1), (x2, y2) = (places[party] for party in link["parties"])
        identifiers = [key for key in link["keys"] if _identifier(key["kind"])]
        undeclared = regime["regime"] == "rights" and any(not key["declared"] for key in identifiers)
        colour = "#c0392b" if undeclared or (regime["regime"] == "platform" and identifiers) else "#d68910"
        if not identifiers:
            colour = "#95a5a6"
        keys = "; ".join(f"{key['label']} ({key['residents']:,})" for key in link["keys"])
        out.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
            f'stroke-width="{1 + 7 * link["linked"] / most:.1f}" stroke-opacity="0.7">'
            f"<title>{escape(' + '.join(link['parties']))}: {link['linked']:,} residents — "
            f"{escape(keys)}</title></line>"
        )
    for number, link in enumerate(link for link in regime["links"] if link["linked"] and link["keys"]):
        # the strongest join key, written on the line (a third or two thirds along, so that lines
        # crossing the centre do not stack their labels there)
        (x1, y1), (x2, y2) = (places[party] for party in link["parties"])
        along = 0.35 if number % 2 else 0.65
        more = len(link["keys"]) - 1
        label = link["keys"][0]["label"] + (f" +{more}" if more else "")
        out.append(
            f'<text x="{x1 + (x2 - x1) * along:.1f}" y="{y1 + (y2 - y1) * along:.1f}" font-size="9" '
            f'text-anchor="middle" class="join-key" paint-order="stroke" stroke="#fff" stroke-width="3">'
            f"{escape(label)}</text>"
        )
    for party, (x, y) in places.items():
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="26" fill="#fff" stroke="#333"/>')
        out.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="10" text-anchor="middle">{escape(party)}</text>')
    out.append("</svg>")
    legend = (
        "<p class='note'>Line width: residents joined. Red: a shared identifier (in the rights regime: one the "
        "report gives no reason for); amber: identifiers shared for a stated reason; grey: only timestamps, "
        "amounts or quasi-identifiers.</p>"
    )
    return "".join(out) + legend


def _identifier(kind: str) -> bool:
    return not kind.startswith(("quasi:", "timestamps", "amounts"))


def _links_table(regime: dict[str, Any]) -> str:
    rows = ["<table><tr><th>parties</th><th>residents</th><th>join keys</th><th>why (rights regime)</th></tr>"]
    for link in regime["links"]:
        if not link["linked"]:
            continue
        keys, reasons = [], []
        for key in link["keys"]:
            undeclared = regime["regime"] == "rights" and _identifier(key["kind"]) and not key["declared"]
            css = " class='undeclared'" if undeclared else ""
            keys.append(f"<span{css}>{escape(key['label'])} ({key['residents']:,})</span>")
            if key["declared"] and key["declared"] not in reasons:
                reasons.append(key["declared"])
        rows.append(
            f"<tr><td>{escape(' + '.join(link['parties']))}</td><td>{link['linked']:,}</td>"
            f"<td style='text-align:left'>{'; '.join(keys)}</td>"
            f"<td style='text-align:left'>{'<br>'.join(escape(reason) for reason in reasons)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def blast_bars(regime: dict[str, Any]) -> str:
    breaches = [breach for breach in regime["breaches"] if len(breach["parties"]) == 1 or " + " not in breach["name"]]
    left, bar, gap, width = 260, 14, 8, 420
    total = max(regime["residents"], 1)
    height = 20 + len(breaches) * (2 * bar + gap)
    out = [_svg_open(left + width + 80, height, f"blast radius, {regime['regime']} regime")]
    for number, breach in enumerate(breaches):
        y = 10 + number * (2 * bar + gap)
        out.append(
            f'<text x="{left - 6}" y="{y + bar + 4}" font-size="11" text-anchor="end">{escape(breach["name"])}</text>'
        )
        for offset, (value, colour, what) in enumerate(
            (
                (breach["affected"], "#5d6d7e", "residents affected"),
                (breach["reidentified"], "#c0392b", "re-identified"),
            )
        ):
            length = width * value / total
            out.append(
                f'<rect x="{left}" y="{y + offset * bar}" width="{length:.1f}" height="{bar - 2}" fill="{colour}">'
                f"<title>{escape(breach['name'])}: {value:,} {what}</title></rect>"
                f'<text x="{left + length + 4:.1f}" y="{y + offset * bar + bar - 4}" font-size="10">{value:,}</text>'
            )
    out.append("</svg>")
    return "".join(out) + "<p class='note'>Grey: residents affected; red: re-identified with a sensitive attribute.</p>"


def _breach_table(regime: dict[str, Any]) -> str:
    head = (
        "<table><tr><th>stolen</th><th>residents</th><th>attributes each</th><th>health</th><th>marital</th>"
        "<th>credit</th><th>re-identified</th><th>pseudonymous only</th><th>sealed</th></tr>"
    )
    rows = [head]
    for breach in regime["breaches"]:
        special = breach["special_categories"]
        rows.append(
            f"<tr><td>{escape(breach['name'])}</td><td>{breach['affected']:,}</td>"
            f"<td>{breach['attributes_per_resident']['mean']:.1f} (max {breach['attributes_per_resident']['max']})</td>"
            f"<td>{special['health']:,}</td><td>{special['marital']:,}</td><td>{special['credit']:,}</td>"
            f"<td>{breach['reidentified']:,}</td><td>{breach['pseudonymous_only']:,}</td><td>{breach['sealed']:,}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def convenience_chart(document: dict[str, Any]) -> str:
    costs = {
        (cost["journey"], regime["regime"]): cost for regime in document["regimes"] for cost in regime["convenience"]
    }
    journeys = sorted({journey for journey, _ in costs})
    regimes = [regime["regime"] for regime in document["regimes"]]
    colours = {"platform": "#c0392b", "rights": "#2e86c1"}
    slowest = max((cost["latency_ms"]["p95"] for cost in costs.values()), default=0.0) or 1.0
    left, bar, width = 130, 12, 420
    height = 20 + len(journeys) * (bar * 2 * len(regimes) + 10)
    out = [_svg_open(left + width + 120, max(height, 40), "convenience comparison")]
    y = 10
    for journey in journeys:
        out.append(f'<text x="{left - 6}" y="{y + bar}" font-size="11" text-anchor="end">{escape(journey)}</text>')
        for regime in regimes:
            cost = costs.get((journey, regime))
            if cost is not None:
                for percentile, opacity in (("p50", 1.0), ("p95", 0.45)):
                    value = cost["latency_ms"][percentile]
                    length = width * value / slowest
                    out.append(
                        f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar - 2}" '
                        f'fill="{colours.get(regime, "#555")}" fill-opacity="{opacity}"><title>{escape(journey)}, '
                        f"{escape(regime)}: {percentile} {value:,.0f} ms</title></rect>"
                        f'<text x="{left + length + 4:.1f}" y="{y + bar - 3}" font-size="10">'
                        f"{escape(regime)} {percentile} {value:,.0f} ms</text>"
                    )
                    y += bar
        y += 10
    out.append("</svg>")
    rows = [
        "<table><tr><th>journey</th><th>regime</th><th>runs</th><th>success</th><th>steps</th><th>prompts</th>"
        "<th>p50 ms</th><th>p95 ms</th></tr>"
    ]
    for (journey, regime), cost in sorted(costs.items()):
        rows.append(
            f"<tr><td>{escape(journey)}</td><td>{escape(regime)}</td><td>{cost['runs']:,}</td>"
            f"<td>{cost['success_rate']:.0%}</td><td>{cost['steps_median']:g}</td><td>{cost['prompts_median']:g}</td>"
            f"<td>{cost['latency_ms']['p50']:,.0f}</td><td>{cost['latency_ms']['p95']:,.0f}</td></tr>"
        )
    rows.append("</table>")
    return "".join(out) + "".join(rows)


def _svg_open(width: float, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img"><title>{escape(title)}</title>'
    )
