"""The stage in a real browser, on real processes started by ``citygate up`` (the shared deployment):
both phones framed, the who-learned-what panels filled by htmx, nothing fetched off 127.0.0.1, no
console error, axe clean."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import browser, new_phone, require_chromium
from tests.fixtures.deployment import Deployment

PROJECTOR = {"width": 1920, "height": 1080}


async def test_the_stage_frames_both_phones_and_fills_the_panels(
    deployment: Deployment, request: pytest.FixtureRequest
) -> None:
    require_chromium()
    stage = deployment.stage_url + "/"
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "stage", viewport=PROJECTOR)
        await phone.page.goto(stage + "?persona=li-wei")
        frames = phone.page.locator("iframe.phone")
        assert await frames.count() == 2
        sources = [await frames.nth(index).get_attribute("src") for index in range(2)]
        assert sources[0] is not None and sources[0].endswith("/app/?persona=li-wei")
        assert sources[1] is not None and sources[1].endswith("/?persona=li-wei")
        for regime in ("platform", "rights"):
            await phone.page.wait_for_selector(f"#exposure-{regime} [data-party='identity'] [data-attribute]")
        async with phone.page.expect_response(lambda response: "/step?" in response.url):
            await phone.page.click("#after-step")
        await phone.page.click("#exposure-rights button.link")  # to the whole population
        await phone.page.wait_for_selector("#exposure-rights table.matrix")
        await phone.screenshot("stage with both phones")
        assert await phone.accessibility_violations() == []
        phone.assert_clean()
