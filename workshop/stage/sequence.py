"""A trace as the calls between parties, and those calls drawn as a sequence diagram (inline SVG).

One call per server span (one per line of the services' access logs): from the party whose span is
its parent (the caller's client span, or for a department's courier, its own span: it called itself
with what it opened) to the party that served it; a call whose caller is outside the trace came
from the citizen's phone. A client span nobody answered (the callee was down, or records no spans)
is a call too, to the address it tried. Each arrow says what the receiving party got *in clear*
and what it only carried *sealed* (``citygate.clear``, ``citygate.sealed_bytes``, kernel/in_clear.py).

Everything in the SVG is escaped here (span attributes come over the network); the partial
template ``stage/_sequence.html`` shows it with the calls listed below, each "as seen by" its party.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from pydantic import BaseModel

if TYPE_CHECKING:  # the store's spans; imported for annotations only (traces.py imports this module)
    from workshop.stage.traces import StoredSpan

PHONE = "citizen's phone"
CLEAR_ATTRIBUTE = "citygate.clear"
SEALED_BYTES_ATTRIBUTE = "citygate.sealed_bytes"
OPENED_ATTRIBUTE = "citygate.opened"
_DIAGRAM_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")

# layout, in SVG user units
COLUMN = 180
MARGIN = 24
LABEL_ROOM = 300  # right of the last column: the labels of calls to it run on there
HEADER = 56
LINE = 15
CHAR_WIDTH = 6.4  # of the 12px sans-serif labels, generously
MAX_LABEL_CHARS = 120
CLEAR_COLOUR = "#1d4f91"
SEALED_COLOUR = "#6a1b9a"
UNANSWERED_COLOUR = "#a4262c"


class Call(BaseModel):
    """One call between two parties, as the callee's span recorded it."""

    number: int
    from_party: str
    to_party: str
    method: str
    route: str
    status: int | None  # None: no answer
    clear: str | None  # what the receiving party got in clear
    sealed_bytes: int | None  # what it carried without being able to read it
    opened: str | None  # what it opened from an envelope (a department's courier)
    start: float  # seconds since the epoch
    duration_ms: float
    span_id: str


def party_of(service: str) -> str:
    """``platform/gateway`` -> ``gateway``: a trace stays in one regime."""
    return service.split("/", 1)[1] if "/" in service else service


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def calls_of(trace: Sequence[StoredSpan]) -> list[Call]:
    """The calls of one trace's spans, in the order they started."""
    by_id = {span.span_id: span for span in trace}
    answered = {span.parent_span_id for span in trace if span.kind == "server"}
    found: list[tuple[int, str, dict[str, Any]]] = []
    for span in trace:
        attributes = span.attributes
        if span.kind == "server":
            parent = by_id.get(span.parent_span_id or "")
            caller = party_of(parent.service) if parent is not None else PHONE
            callee = party_of(span.service)
            route = _text(attributes.get("http.route")) or span.name
        elif span.kind == "client" and span.span_id not in answered:
            caller = party_of(span.service)
            callee = f"{attributes.get('server.address', '?')}:{attributes.get('server.port', '?')}"
            route = "(no answer recorded)"
        else:
            continue
        found.append(
            (
                span.start_ns,
                span.span_id,
                {
                    "from_party": caller,
                    "to_party": callee,
                    "method": _text(attributes.get("http.request.method")) or span.name.split(" ", 1)[0],
                    "route": route,
                    "status": _int(attributes.get("http.response.status_code")),
                    "clear": _text(attributes.get(CLEAR_ATTRIBUTE)),
                    "sealed_bytes": _int(attributes.get(SEALED_BYTES_ATTRIBUTE)),
                    "opened": _text(attributes.get(OPENED_ATTRIBUTE)),
                    "start": span.start_ns / 1e9,
                    "duration_ms": round((span.end_ns - span.start_ns) / 1e6, 2),
                    "span_id": span.span_id,
                },
            )
        )
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return [Call(number=number, **fields) for number, (_, _, fields) in enumerate(found, start=1)]


def participants(calls: Sequence[Call]) -> list[str]:
    """The columns: the citizen's phone first, the rest in the order they first take part."""
    seen: dict[str, None] = {}
    if any(PHONE in (call.from_party, call.to_party) for call in calls):
        seen[PHONE] = None
    for call in calls:
        seen.setdefault(call.from_party, None)
        seen.setdefault(call.to_party, None)
    return list(seen)


def call_label(call: Call) -> str:
    status = "no answer" if call.status is None else str(call.status)
    return f"{call.number}. {call.method} {call.route} → {status}"


def label_lines(call: Call) -> list[str]:
    lines = [call_label(call), f"in clear: {call.clear or 'nothing recorded'}"]
    if call.sealed_bytes is not None:
        lines.append(f"sealed: {call.sealed_bytes} bytes, relayed unread")
    return lines


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _check_id(diagram_id: str) -> None:
    if not _DIAGRAM_ID.match(diagram_id):
        raise ValueError("a diagram id is a letter then up to 63 letters, digits, '-' or '_'")


def call_anchor(diagram_id: str, call: Call) -> str:
    """The id of the call's entry in the list below the diagram (the arrow links there)."""
    return f"{diagram_id}-call-{call.number}"


def sequence_svg(calls: Sequence[Call], *, diagram_id: str = "sequence", title: str = "Calls between services") -> str:
    """An inline SVG sequence diagram of ``calls``; every text escaped. ``diagram_id`` prefixes
    every id in it (two diagrams on one page), and each arrow links to ``#<diagram_id>-call-<n>``."""
    _check_id(diagram_id)
    columns = participants(calls)
    x_of = {party: MARGIN + COLUMN // 2 + index * COLUMN for index, party in enumerate(columns)}
    width = max(len(columns), 2) * COLUMN + 2 * MARGIN + LABEL_ROOM
    rows: list[str] = []
    y = HEADER + 16
    for call in calls:
        lines = label_lines(call)
        y += LINE * len(lines) + 12
        rows.append(_arrow(call, lines, x_of, y, width, diagram_id))
        y += 14
    height = y + 20
    described = (
        f"{len(calls)} calls between {', '.join(columns)}."
        if calls
        else "No call between services was recorded for this step."
    )
    e = escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence-diagram" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="group" aria-labelledby="{e(diagram_id)}-title" '
        f'aria-describedby="{e(diagram_id)}-desc">',
        f'<title id="{e(diagram_id)}-title">{e(title)}</title>',
        f'<desc id="{e(diagram_id)}-desc">{e(described)}</desc>',
        "<defs>",
        *(
            f'<marker id="{e(diagram_id)}-head-{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" '
            f'markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for name, colour in (("clear", CLEAR_COLOUR), ("sealed", SEALED_COLOUR), ("none", UNANSWERED_COLOUR))
        ),
        "</defs>",
    ]
    for party, x in x_of.items():
        parts.append(
            f'<g class="participant"><rect x="{x - COLUMN // 2 + 8}" y="8" width="{COLUMN - 16}" height="32" rx="4" '
            f'fill="#f3f2f1" stroke="#505a5f"/><text x="{x}" y="29" text-anchor="middle" font-size="13" '
            f'font-family="sans-serif" fill="#0b0c0c">{e(_cut(party, 24))}</text>'
            f'<line x1="{x}" y1="40" x2="{x}" y2="{height - 8}" stroke="#b1b4b6" stroke-dasharray="4 4"/></g>'
        )
    if not calls:
        parts.append(
            f'<text x="{MARGIN}" y="{HEADER + 20}" font-size="13" font-family="sans-serif" fill="#0b0c0c">'
            f"{e(described)}</text>"
        )
    parts.extend(rows)
    parts.append("</svg>")
    return "".join(parts)


def _arrow(call: Call, lines: list[str], x_of: dict[str, int], y: int, width: int, diagram_id: str) -> str:
    e = escape
    style = "none" if call.status is None else "sealed" if call.sealed_bytes is not None else "clear"
    colour = {"clear": CLEAR_COLOUR, "sealed": SEALED_COLOUR, "none": UNANSWERED_COLOUR}[style]
    start, end = x_of[call.from_party], x_of[call.to_party]
    marker = f'marker-end="url(#{e(diagram_id)}-head-{style})"'
    if start == end:  # a party calling itself (a department opening a courier envelope)
        shape = f'<path d="M{start},{y - 6} h36 v12 h-34" fill="none" stroke="{colour}" stroke-width="2" {marker}/>'
    else:
        shape = f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y}" stroke="{colour}" stroke-width="2" {marker}/>'
    left = min(start, end) + 6
    limit = min(MAX_LABEL_CHARS, max(16, int((width - left - 4) / CHAR_WIDTH)))
    top = y - LINE * len(lines) - 8
    # a white halo keeps a label readable where it crosses a lifeline
    texts = "".join(
        f'<text x="{left}" y="{top + LINE * (index + 1) - 2}" font-size="12" font-family="sans-serif" '
        f'paint-order="stroke" stroke="#ffffff" stroke-width="3" '
        f'fill="{"#0b0c0c" if index else colour}">{e(_cut(line, limit))}</text>'
        for index, line in enumerate(lines)
    )
    name = f"{call.from_party} to {call.to_party}: " + "; ".join(lines)
    # named by its <title> (the whole label), not an aria-label: the drawn text may be cut short, and
    # a name that does not contain what is shown misleads a speech-input user (WCAG 2.5.3)
    return (
        f'<a href="#{e(call_anchor(diagram_id, call))}" class="sequence-call">'
        f"<title>{e(name)}</title>{shape}{texts}</a>"
    )


def sequence_context(
    calls: Sequence[Call], *, diagram_id: str = "sequence", title: str = "Calls between services"
) -> dict[str, Any]:
    """What ``stage/_sequence.html`` renders: ``diagram_id``, ``title``, ``calls`` and the ``svg``
    (already escaped, hence Markup)."""
    svg = Markup(sequence_svg(calls, diagram_id=diagram_id, title=title))  # noqa: S704  # escaped above
    return {"diagram_id": diagram_id, "title": title, "calls": list(calls), "svg": svg}
