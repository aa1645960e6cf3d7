"""``citygate report [--data-dir var] [--regime platform|rights|both] [--format terminal|json|html] [--output FILE]``.

Reads the ground truth ``<data dir>/population/truth.json`` and every party's database of each regime
(``workshop.report.sources``), read only; prints the report. A stack that is not populated, a
database that is missing or does not answer, or a regime whose identity provider holds none of the
truth's residents: it says exactly what is missing and exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kernel.regime import Regime
from workshop.report.page import render_html
from workshop.report.report import build_report
from workshop.report.sources import MissingData, database_urls, read_services
from workshop.report.stored import ServiceDump
from workshop.report.terminal import render_terminal
from workshop.report.truth import Truth, TruthError, read_truth, truth_path


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "report", help="what each party stored, matched against the population's ground truth (exposure, links, breach)"
    )
    parser.add_argument("--data-dir", default="var", help="the data root `citygate up` and `populate` used")
    parser.add_argument("--regime", choices=["both", *Regime], default="both")
    parser.add_argument("--format", choices=["terminal", "json", "html"], default="terminal")
    parser.add_argument("--output", help="write to this file instead of standard output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    data_root = Path(args.data_dir)
    regimes = list(Regime) if args.regime == "both" else [Regime(args.regime)]
    try:
        truth = read_truth(truth_path(data_root))
        stores = read_regimes(data_root, regimes, truth)
    except TruthError as error:
        print(f"citygate report: {error}", file=sys.stderr)
        return 1
    except MissingData as error:
        print("citygate report: cannot report, missing:", file=sys.stderr)
        for line in error.missing:
            print(f"  - {line}", file=sys.stderr)
        return 1
    report = build_report(truth, stores)
    if args.format == "json":
        text = report.to_json()
    elif args.format == "html":
        text = render_html(report.document)
    else:
        if args.output is None:
            render_terminal(report.document, sys.stdout, colour=sys.stdout.isatty())
            return 0
        with open(args.output, "w", encoding="utf-8") as out:
            render_terminal(report.document, out, colour=False)
        return 0
    if args.output is None:
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def read_regimes(data_root: Path, regimes: list[Regime], truth: Truth) -> dict[Regime, dict[str, ServiceDump]]:
    """Each regime's stores; MissingData listing everything missing in any of them."""
    missing: list[str] = []
    urls = {regime: database_urls(data_root, regime) for regime in regimes}
    if len(regimes) > 1:
        for service in set(urls[Regime.PLATFORM]) & set(urls[Regime.RIGHTS]):
            if urls[Regime.PLATFORM][service] == urls[Regime.RIGHTS][service]:
                variable = f"CITYGATE_{service.upper()}_DATABASE_URL"
                source = f" ({variable} is set)" if variable in os.environ else ""
                missing.append(f"{service}: both regimes would read the same database{source}; give --regime")
    stores: dict[Regime, dict[str, ServiceDump]] = {}
    for regime in regimes:
        try:
            stores[regime] = read_services(urls[regime])
        except MissingData as error:
            missing.extend(f"{regime.value} {line}" for line in error.missing)
            continue
        if not enrolled(stores[regime], truth):
            missing.append(
                f"{regime.value} identity: none of the truth's {len(truth.residents):,} residents is enrolled "
                "(is this the data directory citygate populate used?)"
            )
    if missing:
        raise MissingData(missing)
    return stores


def enrolled(stores: dict[str, ServiceDump], truth: Truth) -> int:
    """How many of the truth's residents the regime's identity provider knows."""
    citizens = stores.get("identity")
    table = citizens.tables.get("citizen") if citizens else None
    if table is None or "resident_id" not in table.columns:
        return 0
    column = table.columns.index("resident_id")
    known = {row[column] for row in table.rows}
    return sum(1 for resident in truth.residents if resident.resident_id in known)
