"""``citygate migrate``: each service's database brought to the head of its history, from the settings
the service itself uses; ``--check`` (CI) compares every history with its models; ``--revision`` writes
the next revision of one service; ``--stamp`` records the revision a database stands at (kernel/migrations.py).

A service also upgrades its own database when it starts: this command is for doing it beforehand, and
for the developer's side of migrations.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from kernel import topology
from kernel.regime import Regime


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "migrate", help="upgrade each service's database to its latest schema; --check compares models and histories"
    )
    parser.add_argument("--regime", choices=["both", *Regime], default="both")
    parser.add_argument(
        "--service",
        action="append",
        choices=list(topology.BY_NAME),
        help="only this service (repeatable); default: every service of the regime",
    )
    parser.add_argument(
        "--data-dir", help="the data root `citygate up --data-dir` was given (default: each service's settings)"
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--check", action="store_true", help="fail when a service's models and its migrations disagree (no database)"
    )
    action.add_argument(
        "--revision", metavar="MESSAGE", help="write the next revision of one --service from its models"
    )
    action.add_argument(
        "--stamp", metavar="REVISION", help="record that the databases stand at REVISION, without running anything"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    specs = [topology.service(name) for name in args.service] if args.service else list(topology.SERVICES)
    if args.check:
        return check(specs)
    if args.revision is not None:
        if len(specs) != 1:
            print("citygate migrate --revision: name one --service", file=sys.stderr)
            return 2
        return revise(specs[0], args.revision)
    regimes = list(Regime) if args.regime == "both" else [Regime(args.regime)]
    data_root = Path(args.data_dir) if args.data_dir else None
    return upgrade(specs, regimes, data_root, stamp=args.stamp)


def check(specs: list[topology.ServiceSpec]) -> int:
    from kernel.migrations import History, declared_metadata, drift

    disagreeing = 0
    for spec in specs:
        differences = drift(declared_metadata(spec), History.of(spec))
        if differences:
            disagreeing += 1
            print(f"{spec.name}: the models and the migrations disagree:", file=sys.stderr)
            for difference in differences:
                print(f"  {difference}", file=sys.stderr)
        else:
            print(f"{spec.name}: the models and the migrations agree")
    if disagreeing:
        print(
            f"{disagreeing} service(s) need a revision: citygate migrate --service NAME --revision 'what changed'",
            file=sys.stderr,
        )
    return 1 if disagreeing else 0


def revise(spec: topology.ServiceSpec, message: str) -> int:
    from kernel.migrations import History, declared_metadata, new_revision

    path = new_revision(declared_metadata(spec), History.of(spec), message)
    # ruff (the lint extra) gives it the tree's style; without ruff the file is still valid
    for ruff in (["check", "--fix", "--quiet"], ["format", "--quiet"]):
        subprocess.run([sys.executable, "-m", "ruff", *ruff, str(path)], check=False, capture_output=True)
    print(f"{spec.name}: wrote {path}\nRead it and complete it (data steps, what autogenerate cannot see).")
    return 0


def upgrade(
    specs: list[topology.ServiceSpec], regimes: list[Regime], data_root: Path | None, *, stamp: str | None
) -> int:
    from kernel import migrations
    from kernel.at_rest import private_directory, restrict_new_files
    from kernel.database import Database

    restrict_new_files()  # the databases are the services' alone, as when they create them
    failed = 0
    for regime in regimes:
        for spec in (spec for spec in specs if regime in spec.regimes):
            overrides: dict[str, Any] = {"regime": regime}
            if data_root is not None:
                overrides["data_dir"] = data_root / regime.value / spec.name
            settings = spec.settings_class()(**overrides)
            assert settings.data_dir is not None and settings.database_url is not None
            private_directory(settings.data_dir)
            database = Database(settings.database_url, migrations.declared_metadata(spec))
            history = migrations.History.of(spec)
            try:
                if stamp is not None:
                    migrations.stamp(database, history, stamp)
                    print(f"{regime.value:<9} {spec.name:<14} recorded as at {stamp}")
                    continue
                before = migrations.migrate(database)
                after = migrations.current_revision(database, history)
                change = f"at {after}" if before == after else f"{before or 'empty'} -> {after}"
                print(f"{regime.value:<9} {spec.name:<14} {change}")
            except migrations.SchemaError as error:
                failed += 1
                print(f"{regime.value:<9} {spec.name:<14} not upgraded: {error}", file=sys.stderr)
            finally:
                database.dispose()
    return 1 if failed else 0
