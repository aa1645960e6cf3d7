"""The report as rich tables on a terminal (or in a text file): drawn from the report document alone."""

from __future__ import annotations

from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

STATE_STYLES = {"clear": "bold red", "pseudonymised": "yellow", "sealed": "cyan", "absent": "dim"}


def render_terminal(document: dict[str, Any], out: TextIO, *, colour: bool) -> None:
    console = Console(file=out, width=200, color_system="standard" if colour else None, highlight=False)
    population = document["population"]
    console.print(
        f"[bold]citygate report[/bold] — {population['residents']:,} residents (seed {population['seed']}); "
        "cells: residents whose attribute the party holds, in its strongest state "
        "([bold red]clear[/bold red], [yellow]pseudonymised[/yellow], [cyan]sealed[/cyan]); see docs/contrast.md"
    )
    labels = {item["key"]: item["label"] for item in document["classes"]}
    for regime in document["regimes"]:
        console.rule(f"[bold]{regime['regime']} regime[/bold]")
        console.print(_exposure(regime, labels))
        console.print(_links(regime))
        console.print(_sets(regime))
        console.print(_breaches(regime))
    console.print(_convenience(document))


def _exposure(regime: dict[str, Any], labels: dict[str, str]) -> Table:
    parties = [party["key"] for party in regime["parties"]]
    table = Table(title=f"Exposure — who holds what, of {regime['residents']:,} residents", title_justify="left")
    table.add_column("attribute")
    for party in parties:
        table.add_column(party, justify="right")
    cells = {(cell["party"], cell["class"]): cell for cell in regime["exposure"]}
    for key, label in labels.items():
        row: list[Text | str] = [label]
        for party in parties:
            cell = cells[(party, key)]
            shown = "·" if cell["state"] == "absent" else f"{cell['held']:,}"
            row.append(Text(shown, style=STATE_STYLES[cell["state"]]))
        table.add_row(*row)
    return table


def _links(regime: dict[str, Any]) -> Table:
    table = Table(title="Linkability — residents two parties can join, and on what", title_justify="left")
    table.add_column("parties")
    table.add_column("residents", justify="right")
    table.add_column("join keys (residents; ⚠ an identifier shared without a stated reason)")
    for link in regime["links"]:
        if not link["linked"]:
            continue
        keys = Text()
        for number, key in enumerate(link["keys"]):
            if number:
                keys.append("; ")
            undeclared = regime["regime"] == "rights" and _identifier(key["kind"]) and not key["declared"]
            keys.append(
                f"{'⚠ ' if undeclared else ''}{key['label']} ({key['residents']:,})", "bold red" if undeclared else ""
            )
        table.add_row(Text(" + ".join(link["parties"])), f"{link['linked']:,}", keys)
    return table


def _identifier(kind: str) -> bool:
    return not kind.startswith(("quasi:", "timestamps", "amounts"))


def _sets(regime: dict[str, Any]) -> Table:
    table = Table(title="Colluding sets — residents whose records join", title_justify="left")
    for column in ("set", "linked", "whole profile joined", "join keys"):
        table.add_column(column, justify="left" if column in ("set", "join keys") else "right")
    for colluding in regime["colluding_sets"]:
        keys = ", ".join(f"{key['label']} ({key['residents']:,})" for key in colluding["keys"])
        table.add_row(Text(colluding["name"]), f"{colluding['linked']:,}", f"{colluding['joined']:,}", Text(keys))
    return table


def _breaches(regime: dict[str, Any]) -> Table:
    table = Table(title="Breach — what a thief of these databases learns", title_justify="left")
    columns = (
        "stolen",
        "residents",
        "attributes each",
        "health",
        "marital",
        "credit",
        "re-identified",
        "pseudonymous only",
        "sealed",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "stolen" else "right")
    for breach in regime["breaches"]:
        special = breach["special_categories"]
        table.add_row(
            Text(breach["name"]),
            f"{breach['affected']:,}",
            f"{breach['attributes_per_resident']['mean']:.1f} (max {breach['attributes_per_resident']['max']})",
            f"{special['health']:,}",
            f"{special['marital']:,}",
            f"{special['credit']:,}",
            Text(f"{breach['reidentified']:,}", "bold red" if breach["reidentified"] else ""),
            f"{breach['pseudonymous_only']:,}",
            f"{breach['sealed']:,}",
        )
    return table


def _convenience(document: dict[str, Any]) -> Table:
    table = Table(title="Convenience — what each journey cost the citizens", title_justify="left")
    for column in ("journey", "regime", "runs", "success", "steps", "prompts", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column in ("journey", "regime") else "right")
    rows = sorted(
        (cost["journey"], regime["regime"], cost) for regime in document["regimes"] for cost in regime["convenience"]
    )
    for journey, regime_name, cost in rows:
        table.add_row(
            journey,
            regime_name,
            f"{cost['runs']:,}",
            f"{cost['success_rate']:.0%}",
            f"{cost['steps_median']:g}",
            f"{cost['prompts_median']:g}",
            f"{cost['latency_ms']['p50']:,.0f}",
            f"{cost['latency_ms']['p95']:,.0f}",
        )
    return table
