"""The rights phone's appointment journey in a real browser (the shared ``citygate up``): Zhang Min's
app books a divorce through the blind courier, Chen Jun's app (his own phone) confirms it."""

from __future__ import annotations

import re

from kernel.personas import by_handle
from tests.fixtures.browser import browser, new_phone, require_chromium
from tests.fixtures.deployment import Deployment
from tests.fixtures.rights_phone import accessible, consent_for_department, log_in_to_super_app, open_journey

BOOKER, PARTNER = by_handle("zhang-min"), by_handle("chen-jun")
TITLE = "Book a civil-registry appointment"
LOGIN = "Log in for the civil registry"


async def test_a_couple_books_and_confirms_a_divorce_through_their_own_apps(deployment: Deployment, request):
    require_chromium()
    web = deployment.citizen_web_url
    async with browser(request.node.name) as launched:
        hers = await new_phone(launched, "rights-booker")
        page = hers.page
        journey = await open_journey(hers, web, TITLE, BOOKER.handle)
        await hers.screenshot("appointments start")
        await accessible(hers, "the appointments page")
        await log_in_to_super_app(hers, BOOKER.handle, journey)
        consent = await consent_for_department(hers, LOGIN, journey, "consent to the app acting at the civil registry")
        # the consent screen: who gets the key, for how long, and each attribute asked for
        assert "Your app will act at" in consent and re.search(r"for \d+ minutes", consent)
        assert "Your app asks to receive" in consent and "sector" in consent

        knows = await page.text_content("#registry-knows") or ""
        assert "knows you only as" in knows and BOOKER.resident_id not in knows
        await page.get_by_role("button", name="Find free slots").click()
        await page.locator("#slots input[type=radio]").first.wait_for()
        await hers.screenshot("free slots")
        await accessible(hers, "the free slots")
        await page.get_by_role("button", name="Book this slot").click()
        await page.get_by_role("heading", name="Appointment booked").wait_for()
        booked = await page.text_content("#booked-text") or ""
        assert "divorce" in booked and "waiting for the partner" in booked
        reference = re.search(r"Reference (\S+)\.", booked)
        assert reference
        seen = " ".join(await page.locator("#seen-list li").all_text_contents())
        assert "sealed envelope" in seen and "free divorce slots" in seen
        assert BOOKER.resident_id not in seen and reference.group(1) not in seen
        await hers.screenshot("booked")
        await accessible(hers, "the booking")
        hers.assert_clean()

        # the partner, on his own phone: the booking waits for him
        his = await new_phone(launched, "rights-partner")
        journey = await open_journey(his, web, TITLE, PARTNER.handle)
        await log_in_to_super_app(his, PARTNER.handle, journey)
        await consent_for_department(his, LOGIN, journey, "partner consents to the app acting at the civil registry")
        await his.page.get_by_role("button", name="Check my bookings").click()
        await his.page.get_by_role("button", name="Confirm this booking").wait_for()
        waiting = await his.page.text_content("#bookings-list") or ""
        assert "You are the partner" in waiting and reference.group(1) in waiting
        await his.screenshot("the booking waits for the partner")
        await his.page.get_by_role("button", name="Confirm this booking").click()
        await his.page.get_by_role("heading", name="Appointment confirmed").wait_for()
        assert "confirmed" in (await his.page.text_content("#booked-text") or "")
        assert PARTNER.resident_id not in (await his.page.text_content("body") or "")
        await his.screenshot("confirmed by the partner")
        await accessible(his, "the confirmation")
        his.assert_clean()
