"""The rights phone's prescription journey in a real browser (the shared ``citygate up``): Wang Fang's
app logs in for the hospital, her pod and the consent service, has the consultation through the blind
courier, checks the hospital's signature in the browser (✓, and ✗ on a changed copy), pays, gives the
pharmacy's and the parcel courier's consents as the consent service presents them, and gets it home."""

from __future__ import annotations

import re

from kernel.personas import by_handle
from kernel.regime import Regime
from tests.fixtures.browser import browser, new_phone, require_chromium
from tests.fixtures.deployment import Deployment
from tests.fixtures.rights_phone import accessible, consent_for_department, log_in_to_super_app, open_journey

PATIENT = by_handle("wang-fang")
LOGINS = ("Log in for the hospital", "Log in for your pod (2 of 3)", "Log in for the consent service (3 of 3)")


async def test_a_patient_gets_a_signed_prescription_through_her_own_app(deployment: Deployment, request):
    require_chromium()
    web = deployment.citizen_web_url
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "rights-patient")
        page = phone.page
        journey = await open_journey(phone, web, "Get a prescription", PATIENT.handle)
        await log_in_to_super_app(phone, PATIENT.handle, journey)
        for number, button in enumerate(LOGINS, start=1):
            consent = await consent_for_department(phone, button, journey, f"app login {number}")
            assert "Your app will act at" in consent and re.search(r"for \d+ minutes", consent)

        await page.get_by_role("button", name="Open my pod").click()
        await page.get_by_role("button", name="See the doctor").click()
        await page.locator("#prescription").wait_for()
        shown = await page.text_content("#prescription") or ""
        assert "The hospital knows you as" in shown and PATIENT.resident_id not in shown
        await phone.screenshot("prescription")
        await accessible(phone, "the prescription")

        # the hospital's signature, verified in this browser with the hospital's own published key
        await page.get_by_role("button", name="Check the hospital's signature").click()
        await page.locator("#signature-verdict").wait_for()
        assert (await page.text_content("#signature-verdict") or "").startswith("✓ signed by the hospital")
        await page.get_by_role("button", name="Check a changed copy").click()
        await page.locator("#changed-verdict").wait_for()
        assert "✗" in (await page.text_content("#changed-verdict") or "")
        # and a signature changed in transit (one character of its payload) does not verify either
        tampered = await page.evaluate(
            """async (hospital) => {
                const v = window.citygateSignature;
                const storage = JSON.parse(sessionStorage.getItem("citizen-web:prescription"));
                const token = JSON.parse(sessionStorage.getItem("citizen-web:token:pod")).accessToken;
                const url = `${storage.storage}prescriptions/${storage.rx.id}`;
                const headers = {Authorization: `Bearer ${token}`, Accept: "application/ld+json"};
                const doc = await (await fetch(url, {headers})).json();
                const {readable, signature} = v.readPrescription(doc, url);
                const [head, body, sig] = signature.split(".");
                const flipped = body.slice(0, 10) + (body[10] === "A" ? "B" : "A") + body.slice(11);
                const keys = await v.hospitalKeys(hospital);
                return {
                    original: (await v.checkSignature(signature, readable, keys)).valid,
                    tampered: (await v.checkSignature([head, flipped, sig].join("."), readable, keys)).valid,
                };
            }""",
            deployment.url("prescriptions", Regime.RIGHTS),
        )
        assert tampered == {"original": True, "tampered": False}
        await phone.screenshot("signature checked")
        await accessible(phone, "the signature")

        pay = page.get_by_role("button", name=re.compile(r"^Pay ¥[\d.]+ now$"))
        await pay.click()
        await page.locator("#receipt").wait_for()

        # the pharmacy's consent request, as the consent service presents it
        await page.get_by_role("button", name="Show the request").click()
        await page.locator("#consent-screen").wait_for()
        terms = await page.text_content("#consent-terms") or ""
        for heading in ("Who may receive it", "For what purpose", "Which data", "Until"):
            assert heading in terms
        await phone.screenshot("the pharmacy's consent request")
        await accessible(phone, "the consent request")
        await page.get_by_role("button", name="Allow the pharmacy").click()
        await page.locator("#consent-given").wait_for()
        assert re.search(r"logged your consent \S+ at index \d+", await page.text_content("#consent-given") or "")

        await page.get_by_role("button", name="Order from the pharmacy").click()
        await page.locator("#access-logged").wait_for()
        assert re.search(r"logged at index \d+", await page.text_content("#access-logged") or "")
        assert "dispensed" in (await page.text_content("#dispensed") or "")

        await page.get_by_role("button", name="Ask for delivery").click()
        await page.locator("#delivery-screen").wait_for()
        assert "Who may receive it" in (await page.text_content("#delivery-terms") or "")
        await page.fill("#address", PATIENT.address)
        await phone.screenshot("the courier's consent request")
        await page.get_by_role("button", name="Allow once and send the parcel").click()
        await page.get_by_role("heading", name="Parcel on its way").wait_for()
        assert PATIENT.address in (await page.text_content("#delivered-text") or "")

        seen = " ".join(await page.locator("#seen-list li").all_text_contents())
        assert "wallet payment in clear" in seen and "sealed envelope" in seen
        assert PATIENT.resident_id not in seen and PATIENT.address not in seen
        await phone.screenshot("delivered")
        await accessible(phone, "the end of the journey")
        phone.assert_clean()
