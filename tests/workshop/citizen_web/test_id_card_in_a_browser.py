"""The ID card on the rights phone, in a real browser on real processes: Li Wei's app fetches his card
bound to a key WebCrypto keeps non-extractable, shows a bar "over 18" and nothing else, and the bar's
check sees exactly that."""

from __future__ import annotations

from tests.fixtures.browser import browser, new_phone, require_chromium
from tests.fixtures.deployment import Deployment
from tests.fixtures.rights_phone import accessible, through_identity

PERSONA = "li-wei"
STEP_TIMEOUT_MS = 20_000
HIDDEN = {"Name", "Date of birth", "Resident of", "Nationality"}


async def test_the_id_card_discloses_only_over_18_in_the_browser(deployment: Deployment, request):
    require_chromium()
    page_url = f"{deployment.citizen_web_url}/journeys/id-card?persona={PERSONA}"
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "rights")
        page = phone.page
        page.set_default_timeout(STEP_TIMEOUT_MS)

        await page.goto(page_url)
        await phone.screenshot("start")
        await accessible(phone, "the start")
        await page.get_by_role("button", name="Log in for your ID card").click()
        await through_identity(phone, PERSONA, page_url, shot="identity")

        await page.get_by_role("button", name="Get my ID card").click()
        await page.locator("#card-rows tr").first.wait_for()
        card = await page.text_content("#card-rows") or ""
        assert "Over 18" in card and "Date of birth" in card  # the card holds it all ...
        await phone.screenshot("the card")
        await accessible(phone, "the card")
        key = await page.evaluate(
            """async () => {
                const key = window.citygateIdCard.key;
                let exported = true;
                try { await crypto.subtle.exportKey("jwk", key); } catch (error) { exported = false; }
                return { type: key.type, extractable: key.extractable, exported };
            }"""
        )
        assert key == {"type": "private", "extractable": False, "exported": False}

        await page.get_by_role("button", name="Show “over 18” only").click()
        await page.locator("#disclosed-list li").first.wait_for()
        assert await page.locator("#disclosed-list li").all_text_contents() == ["Over 18: yes"]
        assert set(await page.locator("#hidden-list li").all_text_contents()) == HIDDEN  # ... he shows one line
        await phone.screenshot("shown over 18 only")

        await page.get_by_role("button", name="Let the bar check").click()
        await page.get_by_role("heading", name="Over 18: let in").wait_for()
        checked = await page.text_content("#checked-text") or ""
        assert "It saw Over 18: yes, and nothing else." in checked
        presentation = await page.evaluate("window.citygateIdCard.presentation")
        assert presentation.count("~") == 2  # issuer JWT ~ one disclosure ~ key binding JWT
        await phone.screenshot("the bar checked")
        await accessible(phone, "the bar's check")
        phone.assert_clean()
