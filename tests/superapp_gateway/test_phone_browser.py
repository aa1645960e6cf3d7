"""The platform phone in a real browser, on real processes started as ``citygate up`` starts them:
log in, agree on the half-screen sheet, City Services, Traffic fines, pay from the wallet, receipt —
clicked as a person would, each step screenshotted and checked by axe, nothing off 127.0.0.1."""

from __future__ import annotations

import re

from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from services.fines.demo import DEMO_PLATE
from tests.fixtures.browser import Phone, browser, new_phone, require_chromium, tab_to
from tests.fixtures.deployment import Deployment

CAR_OWNER = by_handle("li-wei")


async def step(phone: Phone, name: str, *, own_page: bool = True) -> None:
    """Screenshot the step; on the phone's own pages, no serious or critical accessibility violation."""
    await phone.screenshot(name)
    if own_page:
        assert await phone.accessibility_violations() == [], name


async def test_pay_a_traffic_fine_on_the_platform_phone(deployment: Deployment, request):
    require_chromium()
    gateway = deployment.url("gateway", Regime.PLATFORM)
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "platform")
        page = phone.page
        await page.goto(f"{gateway}/app/?persona={CAR_OWNER.handle}")
        await step(phone, "home, logged out")

        await page.get_by_role("link", name=re.compile("Log in")).click()
        await page.wait_for_selector("#password")
        if not await page.input_value("#username"):  # pre-filled by the identity provider, where it does
            await page.fill("#username", CAR_OWNER.handle)
        await page.fill("#password", DEMO_PASSWORD)
        await step(phone, "identity provider's login", own_page=False)
        await page.get_by_role("button", name="Log in").click()
        allow = page.get_by_role("button", name="Allow")
        await page.wait_for_url(re.compile(r"/app/|/authorize"))
        if "/app/" not in page.url and await allow.count():
            await allow.click()
        await page.wait_for_url(re.compile(r"/app/\?persona=li-wei$"))

        sheet = page.get_by_role("dialog")
        await sheet.wait_for()
        assert await page.is_checked("#agree")  # the click-through comes ticked
        assert "我已阅读并同意" in await sheet.inner_text()
        await step(phone, "agreement sheet")
        await page.click("#agree-button")

        await page.wait_for_selector("#tile-fines")
        assert await page.inner_text("#balance") == "¥1,000.00"
        await step(phone, "city services")
        await page.click("#tile-fines")

        await page.wait_for_url(f"{gateway}/app/fines")
        fines = await page.inner_text("main")
        assert fines.count(DEMO_PLATE) == 2 and "¥200.00" in fines and "¥150.00" in fines
        await step(phone, "traffic fines")
        first = page.locator("button[id^=pay-]").first
        amount = await first.inner_text()
        await first.click()

        await page.wait_for_url(re.compile(r"/app/fines/\d+/receipt$"))
        assert "支付成功" in await page.inner_text("main")
        paid = await page.inner_text("#paid-amount")
        assert paid in amount and paid in ("¥200.00", "¥150.00")
        assert await page.inner_text("#payer") == CAR_OWNER.resident_id
        left = 1000 - int(paid.strip("¥").split(".")[0])
        assert await page.inner_text("#balance") == f"¥{left:,}.00"
        await step(phone, "receipt")
        phone.assert_clean()


async def test_a_fine_paid_with_the_keyboard_alone(deployment: Deployment, request):
    """No mouse: Tab to each control and press Enter (or type), from the logged-out home screen to the
    receipt, through the identity provider's login and the agreement sheet."""
    require_chromium()
    gateway = deployment.url("gateway", Regime.PLATFORM)
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "platform")
        page = phone.page
        await page.goto(f"{gateway}/app/?persona={CAR_OWNER.handle}")
        await tab_to(page, "a.phone-login")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#password")
        await tab_to(page, "#password")
        await page.keyboard.type(DEMO_PASSWORD)
        await page.keyboard.press("Enter")  # submits the login form
        await page.wait_for_selector("#agree-button")
        await tab_to(page, "#agree-button")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#tile-fines")
        await tab_to(page, "#tile-fines")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{gateway}/app/fines")
        await tab_to(page, "button[id^=pay-]")
        await step(phone, "the pay button has the keyboard's focus")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#paid-amount")
        assert await page.inner_text("#payer") == CAR_OWNER.resident_id
        await step(phone, "receipt, reached with the keyboard alone")
        phone.assert_clean()
