"""benchmarks/courier.py runs and prints measured rows (a smoke run: tiny counts, no figures checked)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_courier_benchmark_measures_every_row():
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "courier.py"),
            "--requests",
            "8",
            "--concurrency",
            "1",
            "--crypto",
            "5",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for row in (
        "platform: gateway reads for him",
        "rights: his app, department direct",
        "rights: his app, blind courier",
    ):
        [line] = [line for line in run.stdout.splitlines() if line.startswith(row)]
        rate = float(line.split()[-6].replace(",", ""))  # req/s
        assert rate > 0, line
    assert re.search(r"courier / platform \d+\.\d\dx, courier / direct \d+\.\d\dx", run.stdout)
    assert re.search(r"JWE only: .*: [\d,]+ round trips/s", run.stdout)
