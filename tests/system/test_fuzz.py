"""A bounded slice of ``make fuzz`` in every test run: Schemathesis against every service of each
regime, with every credential kind, fixed seed (tests/fixtures/fuzzing.py). A new 5xx fails the build; the
message names the operation, the credential, the exception and an example request."""

from __future__ import annotations

import io

import pytest

from kernel.regime import Regime
from tests.fixtures.fuzzing import report, run

pytestmark = pytest.mark.fuzz

# Small enough for about a minute per regime on one core; `make fuzz` runs the large budget.
CI_CASES = 1
CI_PHASES = ("examples", "coverage", "fuzzing", "stateful")


@pytest.mark.parametrize("regime", list(Regime), ids=[r.value for r in Regime])
def test_no_server_error_in_a_slice_of_the_fuzzer(regime):
    out = io.StringIO()
    figures = run([regime], None, seed=1, cases=CI_CASES, phases=CI_PHASES, unexpected_methods=False, out=out)
    report(figures, out=out)
    assert sum(item.cases for item in figures.values()) > 1000, out.getvalue()
    assert not any(item.server_errors for item in figures.values()), out.getvalue()
