"""The stage's other pages in a real browser, on the shared deployment (``citygate up``): the report with
both regimes' linkage graphs, the breach simulator with a colluding set chosen, the ledger inspector's
tamper demo turning red, then "Reset demo"; a screenshot of each, axe clean, nothing off 127.0.0.1, no
console error."""

from __future__ import annotations

import io

import pytest

from kernel.regime import Regime
from tests.fixtures.browser import browser, new_phone, require_chromium
from tests.fixtures.deployment import Deployment
from workshop.narration import Narrator
from workshop.walkthrough import walk

PROJECTOR = {"width": 1920, "height": 1080}
COLLUDING_SET = "the gateway + the identity provider"


async def test_report_breach_ledger_and_reset_from_the_stage(
    deployment: Deployment, request: pytest.FixtureRequest
) -> None:
    require_chromium()
    # consents given and used in the rights regime, so that the ledger has entries to prove and tamper with
    assert await walk("prescriptions", Regime.RIGHTS, deployment.base_ports, Narrator(out=io.StringIO()))
    async with browser(request.node.name) as launched:
        stage = await new_phone(launched, "stage-pages", viewport=PROJECTOR)
        page = stage.page
        await page.goto(deployment.stage_url + "/report")
        for regime in ("platform", "rights"):
            await page.wait_for_selector(f"#linkage-{regime} svg text.join-key")
        await stage.screenshot("report")
        assert await stage.accessibility_violations() == []

        await page.click("nav >> text=Breach simulator")
        await page.get_by_label(COLLUDING_SET).check()  # htmx asks for the blast radius on change
        for regime in ("platform", "rights"):
            await page.wait_for_selector(f"#blast-{regime} [data-figure='joined']")
        assert "set=" in page.url  # the choice is in the address, to share or reload
        await stage.screenshot("breach of a colluding set")
        assert await stage.accessibility_violations() == []

        await page.click("nav >> text=Ledger inspector")
        assert "✓ signature verified" in await page.inner_text("#head-verdict")
        await page.click("#tamper-button")
        await page.wait_for_selector("#tampered-result[data-ok='false']")
        assert await page.get_attribute("#honest-result", "data-ok") == "true"
        assert "does not match the signed tree head" in await page.inner_text("#tampered-result")
        await stage.screenshot("ledger tamper demo")
        assert await stage.accessibility_violations() == []

        await page.click("#reset-demo")
        await page.wait_for_selector("#reset-done")
        assert await page.locator("#reset-done tbody tr").count() >= 2 * 5
        await stage.screenshot("demo reset")
        assert await stage.accessibility_violations() == []
        stage.assert_clean()
