"""The rights phone in a real browser, on real processes (``citygate up``): a person clicks through
paying a traffic fine; the page logs in, seals, relays and opens everything itself."""

from __future__ import annotations

import re

from kernel.personas import DEMO_PASSWORD
from tests.fixtures.browser import browser, new_phone, require_chromium, tab_to
from tests.fixtures.citizen_web import axe_violations
from tests.fixtures.deployment import Deployment
from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.rights_phone import past_the_consent

PERSONA = "li-wei"
STEP_TIMEOUT_MS = 20_000


async def accessible(phone, where: str) -> None:
    assert await axe_violations(phone) == [], f"axe on {where}"


async def test_a_citizen_pays_a_fine_through_the_blind_courier_in_the_browser(deployment: Deployment, request):
    require_chromium()
    web = deployment.citizen_web_url
    journey = f"{web}/journeys/fines?persona={PERSONA}"
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "rights")
        page = phone.page
        page.set_default_timeout(STEP_TIMEOUT_MS)

        await page.goto(f"{web}/?persona={PERSONA}")
        await phone.screenshot("home")
        await accessible(phone, "the home page")
        await page.get_by_role("link", name="Pay a traffic fine").click()
        await page.wait_for_url(journey)
        assert await page.input_value("#persona") == PERSONA
        await phone.screenshot("start")
        await accessible(phone, "the start page")

        # the super-app's login: its own page at the gateway, through the identity provider, and back
        await page.get_by_role("button", name="Log in to the super-app").click()
        await page.wait_for_url(re.compile(r".*/authorize\?.*"))
        await page.fill("#username", PERSONA)
        await page.fill("#password", DEMO_PASSWORD)
        await phone.screenshot("identity login")
        await page.get_by_role("button", name="Log in").click()
        await past_the_consent(phone, journey, shot="consent to the super-app")
        await page.get_by_role("button", name="Log in for traffic fines").wait_for()
        await phone.screenshot("logged in to the super-app")

        # the app's own login for the traffic police: the consent screen names recipient and purpose
        await page.get_by_role("button", name="Log in for traffic fines").click()
        await page.get_by_role("button", name="Allow").wait_for()
        consent = await page.text_content("body") or ""
        assert "Your app will act at the traffic police" in consent
        assert re.search(r"for \d+ minutes", consent)  # how long the key lasts
        await phone.screenshot("consent to the app acting at the traffic police")
        await accessible(phone, "the consent page")
        await page.get_by_role("button", name="Allow").click()
        await page.wait_for_url(journey)  # the code left the address bar
        await page.get_by_role("button", name="Look up my fines").wait_for()

        # the fines, opened in the browser from the sealed answer
        await page.get_by_role("button", name="Look up my fines").click()
        await page.locator("#fines-rows tr").first.wait_for()
        rows = await page.locator("#fines-rows tr").all_text_contents()
        assert len(rows) == 2 and all(DEMO_PLATE in row for row in rows)
        assert any("¥" in row and "unpaid" in row for row in rows)
        seen = await page.locator("#seen-list li").all_text_contents()
        assert len(seen) == 1 and re.search(r"sealed envelope of \d+ bytes, a sealed answer of \d+ bytes", seen[0])
        assert DEMO_PLATE not in " ".join(seen)
        await phone.screenshot("fines")
        await accessible(phone, "the fines")

        # its one-time reply key: a CryptoKey the page itself cannot export
        key = await page.evaluate(
            """async () => {
                const key = window.citygateCourier.lastReplyKey;
                let exported = true;
                try { await crypto.subtle.exportKey("jwk", key); } catch (error) { exported = false; }
                try { await crypto.subtle.exportKey("pkcs8", key); } catch (error) { exported = exported || false; }
                return { type: key.type, extractable: key.extractable, algorithm: key.algorithm.name, exported };
            }"""
        )
        assert key == {"type": "private", "extractable": False, "algorithm": "ECDH", "exported": False}

        # paid from the super-app's wallet
        pay = page.get_by_role("button", name=re.compile(r"^Pay ¥[\d.]+ now$"))
        amount = re.search(r"¥[\d.]+", await pay.text_content() or "")
        await pay.click()
        await page.locator("#receipt").wait_for()
        assert amount and amount.group(0) in (await page.text_content("#receipt") or "")
        await phone.screenshot("paid from the wallet")

        # and the traffic police say so, through the courier again
        await page.get_by_role("button", name="Check the fine is paid").click()
        await page.get_by_role("heading", name="Fine paid").wait_for()
        assert amount.group(0) in (await page.text_content("#paid-text") or "")
        seen = await page.locator("#seen-list li").all_text_contents()
        assert len(seen) == 3 and "wallet payment in clear" in seen[1]
        await phone.screenshot("checked paid")
        await accessible(phone, "the end of the journey")
        phone.assert_clean()


async def test_a_fine_paid_in_the_citizens_app_with_the_keyboard_alone(deployment: Deployment, request):
    """No mouse: Tab and Enter (and typing the password) through both logins, the identity provider's
    consent pages, the sealed look-up, the payment and the check."""
    require_chromium()
    journey = f"{deployment.citizen_web_url}/journeys/fines?persona={PERSONA}"
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "rights")
        page = phone.page
        page.set_default_timeout(STEP_TIMEOUT_MS)
        await page.goto(journey)

        async def press(selector: str) -> None:
            await page.wait_for_selector(selector)
            await tab_to(page, selector)
            await page.keyboard.press("Enter")

        async def allow_if_asked() -> None:
            """The identity provider's consent page if it shows one (allowed), then back at the journey;
            waits for whichever comes, as tests/fixtures/rights_phone.py's past_the_consent does."""
            allow = page.locator("button[value=allow]")
            for _ in range(150):
                if page.url == journey:
                    return
                if await allow.count() and await allow.is_visible():
                    await tab_to(page, "button[value=allow]")
                    await page.keyboard.press("Enter")
                    break
                await page.wait_for_timeout(100)
            await page.wait_for_url(journey)

        await press("#login-super-app")
        await page.wait_for_selector("#password")
        await tab_to(page, "#password")
        await page.keyboard.type(DEMO_PASSWORD)
        await page.keyboard.press("Enter")
        await allow_if_asked()
        await press("#login-department")
        await page.wait_for_url(lambda url: url != journey)  # off to the identity provider
        await allow_if_asked()
        await press("#look-up")
        await press("#pay:not([hidden])")
        await press("#check:not([hidden])")
        await page.wait_for_selector("#paid:not([hidden])")
        assert DEMO_PLATE in await page.inner_text("#fines")
        await phone.screenshot("paid, with the keyboard alone")
        phone.assert_clean()
