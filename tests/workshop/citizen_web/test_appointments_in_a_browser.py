"""The rights phone's appointment journey in a real browser (the shared ``citygate up``): Zhang Min's
app books a divorce through the blind courier; then, on the same phone as the stage switches to the
partner persona (``?persona=``), Chen Jun logs in himself and confirms it."""

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
        phone = await new_phone(launched, "rights")
        page = phone.page
        journey = await open_journey(phone, web, TITLE, BOOKER.handle)
        await phone.screenshot("appointments start")
        await accessible(phone, "the appointments page")
        await log_in_to_super_app(phone, BOOKER.handle, journey)
        her_super_app = await page.text_content("#super-app-who")
        consent = await consent_for_department(phone, LOGIN, journey, "consent to the app acting at the civil registry")
        # the consent screen: who gets the key, for how long, and each attribute asked for
        assert "Your app will act at" in consent and re.search(r"for \d+ minutes", consent)
        assert "Your app asks to receive" in consent and "sector" in consent

        await page.get_by_role("button", name="Check my bookings").wait_for()  # the app holds its key
        knows = await page.text_content("#registry-knows") or ""
        assert "knows you only as" in knows and BOOKER.resident_id not in knows
        await page.get_by_role("button", name="Find free slots").click()
        await page.locator("#slots input[type=radio]").first.wait_for()
        await phone.screenshot("free slots")
        await accessible(phone, "the free slots")
        await page.get_by_role("button", name="Book this slot").click()
        await page.get_by_role("heading", name="Appointment booked").wait_for()
        booked = await page.text_content("#booked-text") or ""
        assert "divorce" in booked and "waiting for the partner" in booked
        reference = re.search(r"Reference (\S+)\.", booked)
        assert reference
        seen = " ".join(await page.locator("#seen-list li").all_text_contents())
        assert "sealed envelope" in seen and "free divorce slots" in seen
        assert BOOKER.resident_id not in seen and reference.group(1) not in seen
        await phone.screenshot("booked")
        await accessible(phone, "the booking")

        # the stage switches to the partner persona on the same phone: he logs in himself (her
        # sessions at the identity provider and the super-app do not answer for him)
        journey = await open_journey(phone, web, TITLE, PARTNER.handle)
        await log_in_to_super_app(phone, PARTNER.handle, journey)
        assert await page.text_content("#super-app-who") != her_super_app  # the super-app knows him as him
        assert await page.get_by_role("button", name=LOGIN).is_visible()  # her key for the registry is gone
        await consent_for_department(phone, LOGIN, journey, "partner consents to the app acting at the civil registry")
        await page.get_by_role("button", name="Check my bookings").click()
        await page.get_by_role("button", name="Confirm this booking").wait_for()
        waiting = await page.text_content("#bookings-list") or ""
        assert "You are the partner" in waiting and reference.group(1) in waiting
        await phone.screenshot("the booking waits for the partner")
        await page.get_by_role("button", name="Confirm this booking").click()
        await page.get_by_role("heading", name="Appointment confirmed").wait_for()
        assert "confirmed" in (await page.text_content("#booked-text") or "")
        assert PARTNER.resident_id not in (await page.text_content("body") or "")
        await phone.screenshot("confirmed by the partner")
        await accessible(phone, "the confirmation")
        phone.assert_clean()
