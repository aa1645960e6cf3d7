"""The stage in a real browser, on real processes started by ``citygate up`` (the shared deployment):
both phones framed, the who-learned-what panels filled by htmx, nothing fetched off 127.0.0.1, no
console error, axe clean."""

from __future__ import annotations

import re

import pytest

from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
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
        assert sources[1] is not None and sources[1].endswith("/journeys/fines?persona=li-wei")  # the journey picked
        for regime in ("platform", "rights"):
            await phone.page.wait_for_selector(f"#exposure-{regime} [data-party='identity'] [data-attribute]")
        async with phone.page.expect_response(lambda response: "/step?" in response.url):
            await phone.page.click("#after-step")
        # to the whole population; a poll of the panel already on its way may still answer with the
        # persona's figures and replace the matrix: as a person would, click again
        matrix = phone.page.locator("#exposure-rights table.matrix")
        for _ in range(5):
            if await matrix.count():
                break
            async with phone.page.expect_response(lambda response: "view=population" in response.url):
                await phone.page.click("#exposure-rights button.link")
            await phone.page.wait_for_timeout(500)
        await matrix.wait_for()
        await phone.screenshot("stage with both phones")
        assert await phone.accessibility_violations() == []
        phone.assert_clean()


async def test_a_step_on_the_platform_phone_is_drawn_from_the_services_spans_under_it(
    deployment: Deployment, request: pytest.FixtureRequest
) -> None:
    """The facilitator's view of one step: the persona logs in and opens Traffic fines inside the stage's
    left phone; under it the diagram shows the calls the services' own spans recorded, the traffic
    police receiving the resident ID in clear."""
    require_chromium()
    async with browser(request.node.name) as launched:
        stage = await new_phone(launched, "stage", viewport=PROJECTOR)
        page = stage.page
        await page.goto(deployment.stage_url + "/?persona=li-wei")
        phone = page.frame_locator("#phone-platform")
        await phone.get_by_role("link", name=re.compile("Log in")).click()
        await phone.locator("#password").fill(DEMO_PASSWORD)
        if not await phone.locator("#username").input_value():
            await phone.locator("#username").fill("li-wei")
        await phone.get_by_role("button", name="Log in").click()
        await phone.locator("#agree-button").click()
        await phone.locator("#tile-fines").wait_for()
        async with page.expect_response(lambda response: "/step?" in response.url):
            await page.click("#after-step")  # the step to draw starts here
        await phone.locator("#tile-fines").click()
        await phone.locator("button[id^=pay-]").first.wait_for()

        # spans are exported in batches: the diagram follows within a few polls
        arrow = page.locator("#sequence-platform .sequence-call-entry", has_text="gateway → fines")
        await arrow.first.wait_for(timeout=20_000)
        entries = await page.locator("#sequence-platform .sequence-call-entry").all_text_contents()
        assert any("citizen's phone → gateway" in entry and "/app/fines" in entry for entry in entries), entries
        await arrow.first.locator("summary").click()  # "as seen by" the traffic police
        seen = await arrow.first.locator(".sequence-seen-by").inner_text()
        assert "resident ID" in seen and by_handle("li-wei").resident_id not in seen, seen
        await stage.screenshot("a step drawn from the spans")
        assert await stage.accessibility_violations() == []
        stage.assert_clean()


async def test_one_control_steps_both_phones_and_says_each_phones_next_step(
    deployment: Deployment, request: pytest.FixtureRequest
) -> None:
    """Lock-step: "Next step in both phones" clicks each phone's next action; under each phone the stage
    says what that is. A login or consent page of the identity provider takes no step from the stage:
    the facilitator logs in inside the phone, as the citizen would."""
    require_chromium()
    async with browser(request.node.name) as launched:
        stage = await new_phone(launched, "stage", viewport=PROJECTOR)
        page = stage.page
        page.set_default_timeout(20_000)
        await page.goto(deployment.stage_url + "/?persona=li-wei&journey=fines")
        platform, rights = page.frame_locator("#phone-platform"), page.frame_locator("#phone-rights")
        said = {regime: page.locator(f"#next-{regime}") for regime in ("platform", "rights")}

        async def step(platform_next: str, rights_next: str) -> None:
            await expect_text(said["platform"], platform_next)
            await expect_text(said["rights"], rights_next)
            await stage.screenshot(f"lock-step before {platform_next} and {rights_next}")
            async with page.expect_response(lambda response: "/step?" in response.url):  # the step closed first
                await page.click("#lockstep")

        await expect_text(said["rights"], "Log in to the super-app")
        # another origin cannot drive a phone: the platform phone's page asks the rights phone to step
        [platform_page] = [
            frame for frame in page.frames if frame.url.startswith(deployment.url("gateway", Regime.PLATFORM))
        ]
        await platform_page.evaluate("parent.frames[1].postMessage({type: 'citygate:next', journey: 'fines'}, '*')")
        await page.wait_for_timeout(500)
        assert await rights.locator("#login-super-app[data-next-taken]").count() == 0
        assert await rights.locator("#login-super-app").is_visible()

        await step("Log in", "Log in to the super-app")
        for phone in (platform, rights):  # both at the identity provider's login: no step from the stage
            await phone.locator("#password").wait_for()
        await expect_text(said["platform"], "in this phone")
        await expect_text(said["rights"], "in this phone")
        for phone in (platform, rights):
            await log_in_in_the_frame(phone)

        await step("Agree and continue", "Log in for traffic fines")
        await platform.locator("#tile-fines").wait_for()
        await allow_in_the_frame(rights)  # the app's own consent to ask the traffic police
        await step("Traffic fines", "Look up my fines")
        await step("Pay from wallet", "Pay")
        await platform.locator("#paid-amount").wait_for()  # the receipt
        # each phone's next step differs now: the receipt leads back to City Services, the app checks
        await step("Back to City Services", "Check the fine is paid")
        await rights.locator("#paid").wait_for()
        await platform.locator("#tile-fines").wait_for()
        assert await stage.accessibility_violations() == []
        stage.assert_clean()


async def expect_text(locator, text: str) -> None:
    for _ in range(200):
        if text in (await locator.inner_text()):
            return
        await locator.page.wait_for_timeout(100)
    raise AssertionError(f"{text!r} never appeared; the stage says {await locator.inner_text()!r}")


async def log_in_in_the_frame(phone) -> None:
    if not await phone.locator("#username").input_value():
        await phone.locator("#username").fill("li-wei")
    await phone.locator("#password").fill(DEMO_PASSWORD)
    await phone.get_by_role("button", name="Log in").click()
    await phone.locator("#password").wait_for(state="detached")
    allow = phone.get_by_role("button", name="Allow")
    if await allow.count():
        await allow.click()


async def allow_in_the_frame(phone) -> None:
    allow = phone.get_by_role("button", name="Allow")
    await allow.wait_for()
    await allow.click()
    await allow.wait_for(state="detached")
