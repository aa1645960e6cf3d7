"""``citygate walkthrough`` as a facilitator runs it, against ``citygate up`` (real processes: the shared
deployment, its personas reset before the test, as ``citygate reset`` does between two groups)."""

from __future__ import annotations

import re
import subprocess

import pytest

from kernel.regime import Regime
from tests.fixtures.deployment import Deployment
from tests.fixtures.processes import CITYGATE, free_port_block

pytestmark = pytest.mark.processes


def walkthrough(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CITYGATE, "walkthrough", *args], check=False, capture_output=True, text=True, timeout=120)


def test_every_journey_in_both_regimes_is_told_step_by_step_and_succeeds(deployment: Deployment):
    told = walkthrough("all", "--regime", "both", "--base-port", str(deployment.base_ports[Regime.PLATFORM]))
    assert told.returncode == 0, told.stdout + told.stderr
    out = told.stdout
    assert "== fines — platform regime" in out and "== fines — rights regime" in out
    assert "[1/6] li-wei logs in to the super-app ... ✓" in out  # platform: six steps
    assert "[7/7] what the super-app kept ... ✓" in out  # rights: seven
    assert "could open neither" in out  # the blind courier, told
    assert "nothing charged again" in out
    assert "== prescriptions — rights regime" in out and "she tapped “allow”" in out  # the consent prompt
    assert "logged the pharmacy's read before the pod released it: index" in out
    assert "== appointments — platform regime" in out and "(joint punishment)" in out  # the blacklist, told
    assert "asked nobody about his fine" in out  # rights: purpose limitation
    assert "== id-card — platform regime" in out and "saw name=" in out  # the whole card
    assert "saw age_over_18=True\n" in out  # rights: that, and nothing else
    assert "it learned nothing of his card" in out
    assert "every one is in the log" in out  # my data: the device checked the ledger's proofs
    assert "the revocation takes effect at once, and her own view of her prescriptions stays hers ... ✓" in out
    assert "signed by the hospital ✓" in out  # checked by her app against the hospital's published key
    assert "he tapped “Agree” — the only consent the platform asks" in out  # the platform's sign-up
    assert "may the parcel courier have her address? ... ✓" in out and "(her consent is now spent)" in out
    # the summary: per journey and regime, steps, the citizen's prompts, measured time
    assert re.search(r"^fines \(platform\)\s+6\s+1\s+\d+ ms$", out, re.MULTILINE), out
    assert re.search(r"^prescriptions \(rights\)\s+11\s+4\s+\d+ ms$", out, re.MULTILINE), out
    assert len(re.findall(r"^[a-z-]+ \((platform|rights)\)\s+\d+\s+\d+\s+\d+ ms$", out, re.MULTILINE)) == 10
    assert out.rstrip().endswith("every step succeeded")


def test_a_failing_step_says_why_and_the_exit_code_says_so():
    nobody_there = free_port_block(200)
    told = walkthrough("fines", "--regime", "platform", "--base-port", str(nobody_there))
    assert told.returncode == 1
    assert "[1/6] li-wei logs in to the super-app ... ✗" in told.stdout
    assert "FAILED: fines (platform)" in told.stdout
