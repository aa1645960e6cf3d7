"""My data on the rights phone, in a real browser on real processes: Wang Fang's app lists her consents
and withdraws one with a click, checks every line of her access log against the ledger's signed tree
head itself (✓, and ✗ on a tampered copy), downloads her pod and erases it."""

from __future__ import annotations

import io
import zipfile

import httpx

from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from tests.fixtures.browser import browser, new_phone, require_chromium
from tests.fixtures.deployment import Deployment
from tests.fixtures.rights_phone import accessible, through_identity
from workshop.citizen_app import citizen_token
from workshop.narration import Narrator
from workshop.walkthrough import walk

PERSONA = "wang-fang"
STEP_TIMEOUT_MS = 20_000


async def a_consent_and_a_deposit(deployment: Deployment) -> None:
    """What the prescriptions journey leaves her (docs/journeys.md): the pharmacy's consent, the
    hospital's deposit in her pod and the ledger's entries of both."""
    assert await walk("prescriptions", Regime.RIGHTS, deployment.base_ports, Narrator(colour=False))


async def pod_export_status(deployment: Deployment) -> int:
    citizen = by_handle(PERSONA)
    async with httpx.AsyncClient(base_url=deployment.url("identity", Regime.RIGHTS), timeout=15) as identity:
        tokens = await citizen_token(identity, username=citizen.handle, password=DEMO_PASSWORD, resource_service="pod")
    async with httpx.AsyncClient(timeout=15) as client:
        answer = await client.get(
            deployment.url("pod", Regime.RIGHTS) + "/me/pod/export",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
    return answer.status_code


async def proofs(page) -> list[str]:
    return await page.locator("#log-rows tr").evaluate_all("rows => rows.map(row => row.dataset.proof)")


async def test_my_data_consents_proven_log_and_pod_in_the_browser(deployment: Deployment, request, tmp_path):
    require_chromium()
    await a_consent_and_a_deposit(deployment)
    page_url = f"{deployment.citizen_web_url}/journeys/my-data?persona={PERSONA}"
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "rights")
        page = phone.page
        page.set_default_timeout(STEP_TIMEOUT_MS)

        await page.goto(page_url)
        assert await page.input_value("#persona") == PERSONA
        await phone.screenshot("start")
        await accessible(phone, "the start")

        # the super-app (the courier), then the app's own keys for the consent service and the pod
        await page.get_by_role("button", name="Log in to the super-app").click()
        await through_identity(phone, PERSONA, page_url, shot="super-app")
        await page.get_by_role("button", name="Log in for your consents").click()
        await through_identity(phone, PERSONA, page_url, shot="consent service")
        await page.get_by_role("button", name="Log in for your pod").click()
        await through_identity(phone, PERSONA, page_url, shot="pod")
        await page.get_by_role("button", name="Show my consents").wait_for()
        await phone.screenshot("logged in")

        # her consents, through the blind courier; the pharmacy's withdrawn with one click
        await page.get_by_role("button", name="Show my consents").click()
        await page.locator("#consents-rows tr").first.wait_for()
        rows = await page.locator("#consents-rows tr").all_text_contents()
        assert any("prescriptions" in row and "given" in row for row in rows), rows
        await phone.screenshot("consents")
        await accessible(phone, "the consents")
        await page.locator("#consents-rows button", has_text="Withdraw").first.click()
        await page.locator("#revoked").wait_for()
        assert "is now withdrawn" in (await page.text_content("#revoked") or "")
        rows = await page.locator("#consents-rows tr").all_text_contents()
        assert any("prescriptions" in row and "withdrawn" in row for row in rows), rows
        await phone.screenshot("withdrawn")

        # the access log, every line proven in the browser against the signed tree head
        await page.get_by_role("button", name="Check who used my data").click()
        await page.locator("#log-rows tr").first.wait_for()
        head = await page.text_content("#tree-head") or ""
        assert head.startswith("Signed tree head ✓")
        marks = await proofs(page)
        assert marks and set(marks) == {"ok"}
        table = await page.text_content("#log-rows") or ""
        assert "✓" in table and "✗" not in table
        assert "withdrawn" in table  # her withdrawal is the newest line
        assert "deposited" in table  # the hospital's deposit in her pod
        await phone.screenshot("access log proven")
        await accessible(phone, "the access log")

        # a copy with one line altered: that line ✗, the others still ✓; a forged tree head: all ✗
        await page.get_by_role("button", name="Alter one line of the copy").click()
        await page.locator("#log-rows tr[data-proof=bad]").first.wait_for()
        tampered = await proofs(page)
        assert tampered[0] == "bad" and set(tampered[1:]) <= {"ok"}
        await phone.screenshot("a tampered line")
        await page.get_by_role("button", name="Alter the copy's tree head").click()
        await page.locator("#tree-head.cw-proof-bad").wait_for()
        assert set(await proofs(page)) == {"bad"}
        await phone.screenshot("a tampered tree head")

        # the pod: everything downloaded, then erased after a confirmation
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download everything in my pod").click()
        download = await download_info.value
        archive = tmp_path / "pod.zip"
        await download.save_as(archive)
        with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as exported:
            names = exported.namelist()
        assert "manifest.json" in names and any(name.startswith("pod/prescriptions/") for name in names), names
        await phone.screenshot("exported")
        await page.get_by_role("button", name="Erase my pod").click()
        await page.get_by_role("button", name="Yes, erase everything").wait_for()
        await phone.screenshot("erase: confirm")
        await accessible(phone, "the erasure's confirmation")
        await page.get_by_role("button", name="Yes, erase everything").click()
        await page.locator("#erased").wait_for()
        assert "Your pod is erased" in (await page.text_content("#erased") or "")
        await phone.screenshot("erased")
        phone.assert_clean()
    assert await pod_export_status(deployment) == 404  # nothing left to export
