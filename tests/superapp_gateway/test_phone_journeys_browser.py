"""The platform phone's journeys after fines in a real browser, on the shared ``citygate up``
(tests/fixtures/deployment.py): appointments refused by the credit blacklist and then booked and
confirmed by the partner on the same phone, a prescription from consultation to delivery, the hosted
ID card shown whole — clicked as a person would, each step screenshotted and checked by axe,
nothing off 127.0.0.1, no console errors."""

from __future__ import annotations

import asyncio
import re
import time

from kernel.personas import by_handle
from kernel.regime import Regime
from tests.fixtures.browser import browser, new_phone, require_chromium
from tests.fixtures.deployment import Deployment
from tests.fixtures.phone_browser import log_in_on_the_phone, step

HUSBAND, WIFE, PATIENT, CAR_OWNER = (by_handle(h) for h in ("chen-jun", "zhang-min", "wang-fang", "li-wei"))
# how long the fine's settlement may take to reach the credit platform's blacklist (the traffic
# police's outbox delivers it right after the payment; a retry is its worker's next sweep)
SETTLEMENT_SECONDS = 20


async def test_appointments_refused_by_the_blacklist_then_booked_and_confirmed_on_one_phone(
    deployment: Deployment, request
):
    require_chromium()
    gateway = deployment.url("gateway", Regime.PLATFORM)
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "platform")
        page = phone.page
        await log_in_on_the_phone(phone, gateway, HUSBAND)
        await page.click("#tile-appointments")
        await page.wait_for_url(f"{gateway}/app/appointments")
        assert "可预约时段" in await page.inner_text("main")
        await step(phone, "free divorce slots")

        await page.locator("button[id^=book-]").first.click()
        await page.wait_for_selector("#refused-title")
        assert "联合惩戒" in await page.inner_text("#refused-title")
        reasons = await page.inner_text("#refused-reasons")
        for shown in ("预约人", "the booker", "逾期未缴交通罚款", "no online booking of civil-registry appointments"):
            assert shown in reasons, shown
        await step(phone, "refused by the credit blacklist")

        await page.click("#to-fines")
        await page.wait_for_url(f"{gateway}/app/fines")
        await page.locator("button[id^=pay-]").first.click()
        await page.wait_for_url(re.compile(r"/app/fines/\d+/receipt$"))
        assert await page.inner_text("#payer") == HUSBAND.resident_id
        await step(phone, "his overdue fine paid")

        started = time.monotonic()
        while True:  # the settlement travels to the blacklist
            await page.goto(f"{gateway}/app/appointments")
            await page.locator("button[id^=book-]").first.click()
            await page.wait_for_selector("#booked-title, #refused-title")
            if await page.locator("#booked-title").count() or time.monotonic() - started > SETTLEMENT_SECONDS:
                break
            await asyncio.sleep(1)
        assert "预约成功" in await page.inner_text("#booked-title")
        booking_id = await page.inner_text("#booking-id")
        assert "waiting for the partner" in await page.inner_text(f"#booking-{booking_id}-status")
        await step(phone, "divorce booked, waiting for her")

        # the stage switches the phone to her: she logs in on the same phone
        await page.goto(f"{gateway}/app/?persona={WIFE.handle}")
        assert HUSBAND.name in await page.inner_text("#logged-in-as")
        await log_in_on_the_phone(phone, gateway, WIFE)
        await page.click("#tile-appointments")
        await page.wait_for_selector(f"#booking-{booking_id}")
        assert "待你确认" in await page.inner_text(f"#booking-{booking_id}")
        await step(phone, "her bookings: one awaits her")
        await page.click(f"#booking-{booking_id} a")
        await page.click("#confirm")
        await page.wait_for_url(f"{gateway}/app/appointments/bookings/{booking_id}")
        assert "已确认" in await page.inner_text(f"#booking-{booking_id}-status")
        await step(phone, "confirmed")
        phone.assert_clean()


async def test_a_prescription_from_consultation_to_delivery(deployment: Deployment, request):
    require_chromium()
    gateway = deployment.url("gateway", Regime.PLATFORM)
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "platform")
        page = phone.page
        await log_in_on_the_phone(phone, gateway, PATIENT)
        await page.click("#tile-prescriptions")
        await page.wait_for_url(f"{gateway}/app/prescriptions")
        await step(phone, "prescriptions")
        await page.click("#consult")
        await page.wait_for_url(re.compile(r"/app/prescriptions/[^/]+$"))
        amount = await page.inner_text("#rx-amount")
        assert re.fullmatch(r"¥\d[\d,]*\.\d\d", amount) and await page.inner_text("#rx-patient") == PATIENT.resident_id
        assert await page.inner_text("#rx-medication") and await page.inner_text("#rx-diagnosis")
        await step(phone, "the online doctor's prescription")

        assert amount in await page.inner_text("#pay")
        await page.click("#pay")
        await page.wait_for_selector("#dispense")
        left = 1000 - float(amount.strip("¥").replace(",", ""))
        assert await page.inner_text("#balance") == f"¥{left:,.2f}"
        await step(phone, "paid from the wallet")

        await page.click("#dispense")
        await page.wait_for_selector("#deliver")
        assert await page.inner_text("#rx-pharmacy") == "Liwan Dashenlin Pharmacy"
        assert await page.input_value("#address") == PATIENT.address  # filled in from the card it hosts
        await step(phone, "dispensed by the pharmacy")

        await page.click("#deliver")
        await page.wait_for_selector("#delivered")
        assert await page.inner_text("#rx-parcel")
        await step(phone, "on its way")
        phone.assert_clean()


async def test_the_hosted_id_card_shown_whole(deployment: Deployment, request):
    require_chromium()
    gateway = deployment.url("gateway", Regime.PLATFORM)
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "platform")
        page = phone.page
        await log_in_on_the_phone(phone, gateway, CAR_OWNER)
        await page.click("#tile-id-card")
        await page.wait_for_url(f"{gateway}/app/id-card")
        assert await page.inner_text("#card-resident_id") == CAR_OWNER.resident_id
        assert await page.inner_text("#card-name") == CAR_OWNER.name
        assert await page.inner_text("#card-birthdate") == CAR_OWNER.birth_date.isoformat()
        assert await page.inner_text("#card-address") == CAR_OWNER.address
        await step(phone, "the card, every field")

        await page.click("#present")
        await page.wait_for_selector("#shown-to")
        assert await page.inner_text("#shown-to") == "https://bar.example"
        assert await page.inner_text("#card-resident_id") == CAR_OWNER.resident_id
        await step(phone, "shown whole to the bar")

        await page.goto(f"{gateway}/app/my-data")
        assert "id-card: 1" in await page.inner_text("main")
        await step(phone, "my data, as the platform shows it")
        phone.assert_clean()
