"""Journey 3, get a prescription, through the super-app's REST API in both regimes (in-process mesh,
real HTTP semantics between the services): an online consultation issues it, the wallet pays it, a
pharmacy dispenses it once and a courier delivers it — with what the super-app stored checked on the data."""

from __future__ import annotations

import asyncio
import json
import re
import time
from contextlib import aclosing
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from kernel.courier import CourierResponse, open_response
from kernel.personas import Persona, by_handle
from kernel.regime import Regime
from services.prescriptions.demo import demo_draft
from services.prescriptions.models import Prescription
from tests.fixtures.logins import app_tokens, super_app
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.mesh import Mesh
from tests.fixtures.patient_phone import PatientPhone, patient_phone
from tests.fixtures.problems import assert_problem
from tests.fixtures.stored import dump, ledger_entries
from tests.fixtures.tokens import bearer
from tests.fixtures.transports import LateAnswers
from tests.fixtures.wallet import pay
from workshop.exposure import occurrences, stored_text

pytestmark = [BOTH_BACKENDS]

PATIENT, OTHER = by_handle("wang-fang"), by_handle("li-wei")
DRAFT = demo_draft("-")
HEALTH_DATA = (DRAFT.medication, DRAFT.diagnosis_code, DRAFT.dose)
ADDRESS = "45 Zhongshan 8th Road, Liwan District, Guangzhou"
PHARMACY = "Liwan Dashenlin Pharmacy"


@dataclass
class Phone(PatientPhone):
    """Her own app (tests/fixtures/patient_phone.py), checking on every relay that the super-app
    carried nothing it could read."""

    async def hospital(self, method: str, path: str, body=None) -> CourierResponse:
        relayed, reply_key = await self.relay(method, path, body)
        assert not [word for word in HEALTH_DATA if word in relayed.text]  # it relays what it cannot read
        return open_response(relayed.json()["envelope"], reply_key)

    async def consultation(self) -> dict:
        issued = await self.hospital("POST", "/me/consultations", {"pod": await self.pod()})
        assert issued.status == 201, issued.body
        return issued.body

    async def the_consent_prompt(self, prescription_id: str) -> dict:
        return await self.prompt_naming(prescription_id)

    async def access_log(self) -> list[dict]:
        """Her access log's entries (accesses and consent events), newest first."""
        log = await self.consent("GET", "/me/access-log?limit=200")
        assert log.status_code == 200, log.text
        return [row["entry"] for row in log.json()["entries"]]


async def phone(mesh: Mesh, browser: httpx.AsyncClient, persona: Persona = PATIENT) -> Phone:
    her = await patient_phone(mesh, browser, persona)
    return Phone(her.mesh, her.browser, her.tokens, her.hospital_keys)


async def issued_for(mesh: Mesh, browser: httpx.AsyncClient) -> tuple[dict, Phone | None]:
    """A prescription from an online consultation, as the regime does it."""
    if mesh.regime is Regime.PLATFORM:
        issued = await browser.post("/city-services/prescriptions/consultations")
        assert issued.status_code == 201, issued.text
        return issued.json(), None
    her_phone = await phone(mesh, browser)
    return await her_phone.consultation(), her_phone


# --- the happy path ---------------------------------------------------------------------------------


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_the_super_app_consults_pays_orders_and_remembers_the_diagnosis(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        issued = await browser.post("/city-services/prescriptions/consultations")
        assert issued.status_code == 201, issued.text
        rx = issued.json()
        assert (rx["patient"], rx["medication"], rx["diagnosis_code"], rx["status"]) == (
            PATIENT.resident_id,
            DRAFT.medication,
            DRAFT.diagnosis_code,
            "issued",
        )
        assert rx["id"] in [p["id"] for p in (await browser.get("/city-services/prescriptions")).json()]
        before = (await browser.get("/wallet")).json()["balance_cents"]

        paid = await pay(browser, rx, "rx-1", payee="prescriptions")
        assert paid.status_code == 201 and paid.json()["status"] == "completed", paid.text
        dispensed = await browser.post(
            f"/city-services/prescriptions/{rx['id']}/dispensation", json={"pharmacy": PHARMACY}
        )
        assert dispensed.status_code == 201, dispensed.text
        assert dispensed.json()["medication"] == DRAFT.medication and "diagnosis_code" not in dispensed.json()
        delivered = await browser.post(f"/city-services/prescriptions/{rx['id']}/delivery", json={"address": ADDRESS})
        assert delivered.status_code == 201, delivered.text
        assert set(delivered.json()) == {"parcel_id", "address", "consent_ledger_index"}
        assert (delivered.json()["address"], delivered.json()["consent_ledger_index"]) == (ADDRESS, None)
        assert (await browser.get("/wallet")).json()["balance_cents"] == before - rx["amount_cents"]
        assert_problem(
            await browser.post(f"/city-services/prescriptions/{rx['id']}/dispensation"), 409, "already-dispensed"
        )
        now = (await browser.get(f"/city-services/prescriptions/{rx['id']}")).json()
        assert (now["status"], now["pharmacy"], now["parcel_id"]) == (
            "dispensed",
            PHARMACY,
            delivered.json()["parcel_id"],
        )
        events = [event["event"] for event in (await browser.get("/me/history")).json()]
        assert {
            "online consultation: prescription issued",
            "paid from the wallet",
            "dispensed by a pharmacy",
            "delivery ordered",
        } <= set(events)
    # The platform keeps who she is next to what she was prescribed, and why.
    found = {hit.value for hit in occurrences(dump(mesh, "gateway"), [PATIENT.resident_id, *HEALTH_DATA])}
    assert found == {PATIENT.resident_id, *HEALTH_DATA}


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_her_app_consults_through_the_courier_consents_and_the_super_app_learns_only_the_payment(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        assert_problem(await browser.post("/city-services/prescriptions/consultations"), 403, "blind-courier-only")
        assert_problem(await browser.get("/city-services/prescriptions"), 403, "blind-courier-only")
        her = await phone(mesh, browser)
        rx = await her.consultation()
        assert (rx["medication"], rx["diagnosis_code"]) == (DRAFT.medication, DRAFT.diagnosis_code)  # her app sees it
        assert_problem(
            await browser.post(f"/city-services/prescriptions/{rx['id']}/dispensation"), 403, "blind-courier-only"
        )

        paid = await pay(browser, rx, "rx-1", payee="prescriptions")
        assert paid.status_code == 201 and paid.json()["status"] == "completed", paid.text
        assert (await pay(browser, rx, "rx-1", payee="prescriptions")).json()["id"] == paid.json()["id"]
        # The consent prompt: the hospital asked for the pharmacy to read it from her pod; she gives it.
        prompt = await her.the_consent_prompt(rx["id"])
        assert prompt["controller"] == "prescriptions" and prompt["status"] == "requested"
        await her.decide(prompt["id"], "given")

        dispensed = await her.hospital("POST", f"/me/prescriptions/{rx['id']}/dispensation", {"pharmacy": PHARMACY})
        assert dispensed.status == 201, dispensed.body
        assert dispensed.body["medication"] == DRAFT.medication and "diagnosis_code" not in dispensed.body
        read = (await ledger_entries(mesh))[-1]
        assert (read["kind"], read["recipient"], read["purpose"]) == (
            "access.permitted",
            "prescriptions",
            "dpv:ServiceProvision",
        )
        log = (await her.consent("GET", "/me/access-log?recipient=prescriptions")).json()
        assert log["entries"][0]["entry"]["kind"] == "access.permitted"  # she sees the pharmacy's read

        # The second prompt: the pharmacy asks whether the parcel courier may have her address; she allows it.
        asked = await her.hospital("POST", f"/me/prescriptions/{rx['id']}/delivery-consent")
        assert asked.status == 201 and asked.body["recipient"] == "parcel-courier", asked.body
        await her.decide(asked.body["consent_request"], "given")
        delivered = await her.hospital("POST", f"/me/prescriptions/{rx['id']}/delivery", {"address": ADDRESS})
        assert delivered.status == 201 and set(delivered.body) == {"parcel_id", "address", "consent_ledger_index"}
        entries = await ledger_entries(mesh)
        disclosed = entries[delivered.body["consent_ledger_index"]]
        assert (disclosed["kind"], disclosed["recipient"], disclosed["category"], disclosed["processing"]) == (
            "access.permitted",
            "parcel-courier",
            "pd:PhysicalAddress",
            "dpv:Disclose",
        )
        assert ADDRESS not in json.dumps(entries)  # the ledger logs that it was passed on, not the address
        now = await her.hospital("GET", f"/me/prescriptions/{rx['id']}")
        assert (now.body["status"], now.body["parcel_id"]) == ("dispensed", delivered.body["parcel_id"])
        assert (await browser.get("/me/history")).json() == []
        wallet_rows = (await browser.get("/wallet")).json()["payments"]
        assert [(p["payee"], p["reference"], p["amount_cents"]) for p in wallet_rows] == [
            ("prescriptions", rx["id"], DRAFT.amount_cents)
        ]
    # The gateway holds no resident ID, no medication, no diagnosis, no dose — nor her address.
    assert occurrences(dump(mesh, "gateway"), [PATIENT.resident_id, *HEALTH_DATA, ADDRESS]) == []


# --- unhappy paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize("regime", list(Regime))
async def test_paying_twice_is_one_payment_and_a_short_wallet_pays_nothing(mesh):
    mesh.apps["gateway"].state.service.settings.wallet_starting_balance_cents = 3000  # ¥30: one prescription's worth
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        first, her = await issued_for(mesh, browser)
        second = (
            (await her.consultation())
            if her
            else (await browser.post("/city-services/prescriptions/consultations")).json()
        )
        paid = await pay(browser, first, "rx-1", payee="prescriptions")
        assert paid.status_code == 201, paid.text
        again = await pay(browser, first, "rx-1", payee="prescriptions")
        assert again.status_code == 200 and again.json()["id"] == paid.json()["id"]
        assert (await browser.get("/wallet")).json()["balance_cents"] == 3000 - DRAFT.amount_cents
        short = assert_problem(await pay(browser, second, "rx-2", payee="prescriptions"), 402, "insufficient-balance")
        assert (short["balance_cents"], short["amount_cents"]) == (3000 - DRAFT.amount_cents, DRAFT.amount_cents)
        assert (await browser.get("/wallet")).json()["balance_cents"] == 3000 - DRAFT.amount_cents
        if her is None:
            assert_problem(
                await browser.post(f"/city-services/prescriptions/{second['id']}/dispensation"), 409, "not-paid"
            )
        else:
            unpaid = await her.hospital(
                "POST", f"/me/prescriptions/{second['id']}/dispensation", {"pharmacy": PHARMACY}
            )
            assert (unpaid.status, unpaid.body["type"]) == (409, "urn:citygate:problem:not-paid")


@pytest.mark.parametrize("regime", list(Regime))
async def test_dispensing_before_payment_and_delivery_before_dispensing_are_refused(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        rx, her = await issued_for(mesh, browser)
        if her is None:
            assert_problem(await browser.post(f"/city-services/prescriptions/{rx['id']}/dispensation"), 409, "not-paid")
            assert_problem(
                await browser.post(f"/city-services/prescriptions/{rx['id']}/delivery", json={"address": ADDRESS}),
                409,
                "not-dispensed",
            )
        else:
            for tail, body, kind in (
                ("dispensation", {"pharmacy": PHARMACY}, "not-paid"),
                ("delivery", {"address": ADDRESS}, "not-dispensed"),
            ):
                refused = await her.hospital("POST", f"/me/prescriptions/{rx['id']}/{tail}", body)
                assert (refused.status, refused.body["type"]) == (409, f"urn:citygate:problem:{kind}")


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_the_pharmacy_reads_only_under_her_consent_and_not_after_she_withdraws_it(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        rx, her = await issued_for(mesh, browser)
        assert her is not None  # the rights regime: the consultation was on her phone
        assert (await pay(browser, rx, "rx-1", payee="prescriptions")).status_code == 201
        path = f"/me/prescriptions/{rx['id']}"
        before = await her.hospital("POST", f"{path}/dispensation", {"pharmacy": PHARMACY})
        assert (before.status, before.body["type"]) == (403, "urn:citygate:problem:no-consent")
        assert (await ledger_entries(mesh))[-1]["kind"] == "access.refused"

        prompt = await her.the_consent_prompt(rx["id"])
        await her.decide(prompt["id"], "given")
        assert (await her.hospital("GET", path)).status == 200
        await her.decide(prompt["id"], "withdrawn")
        refused = await her.hospital("POST", f"{path}/dispensation", {"pharmacy": PHARMACY})
        assert (refused.status, refused.body["type"]) == (403, "urn:citygate:problem:no-consent")
        assert (await ledger_entries(mesh))[-1]["kind"] == "access.refused"


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_her_own_view_is_hers_whatever_she_decided_for_the_pharmacy(mesh):
    """L8: withdrawing (or never giving) the pharmacy's consent does not take her own prescriptions from her."""
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        rx, her = await issued_for(mesh, browser)
        assert her is not None  # the rights regime: the consultation was on her phone
        path = f"/me/prescriptions/{rx['id']}"
        prompt = await her.the_consent_prompt(rx["id"])
        for moment in ("not yet given", "given", "withdrawn"):
            if moment != "not yet given":
                await her.decide(prompt["id"], moment)
            for listed in (
                (await her.hospital("GET", "/me/prescriptions")).body,
                [(await her.hospital("GET", path)).body],
            ):
                assert [(p["id"], p["medication"], p["quantity"], p["signature"]) for p in listed] == [
                    (rx["id"], DRAFT.medication, DRAFT.quantity, {"signed_by": "hospital", "verified": True})
                ], moment
            read = (await ledger_entries(mesh))[-1]
            # Her view is read under the hospital's duty to give her her record, never under her consent for
            # the pharmacy: the ledger says so, and the pharmacy's purpose is not used.
            assert (read["kind"], read["purpose"], read["processing"]) == (
                "access.permitted",
                "dpv:LegalCompliance",
                "dpv:Use",
            ), moment
        refused = await her.hospital("POST", f"{path}/dispensation", {"pharmacy": PHARMACY})
        assert refused.status in (403, 409)  # the pharmacy still cannot: not paid / no consent


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_a_patient_cannot_make_the_hospital_write_into_or_read_from_another_patients_pod(mesh):
    """H2: her consultation names Li Wei's pod, where the hospital holds a standing legal basis of his own."""
    async with aclosing(await super_app(mesh, OTHER.handle)) as his_browser:
        his = await phone(mesh, his_browser, OTHER)
        his_rx = await his.consultation()
    his_pod = await his.pod()
    logged_before = len(await his.access_log())
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        her = await phone(mesh, browser)
        her_rx = await her.consultation()  # her own pod: fine
        refused = await her.hospital("POST", "/me/consultations", {"pod": his_pod})
        assert (refused.status, refused.body["type"]) == (403, "urn:citygate:problem:subject-mismatch")
        assert her_rx["id"] not in refused.body["detail"]
        async with mesh.client("pod") as pod:
            listing = await pod.get(
                his_pod.removeprefix(mesh.urls["pod"]) + "prescriptions/",
                headers=bearer(his.tokens["pod"]) | {"Accept": "text/turtle"},
            )
        assert listing.status_code == 200, listing.text
        assert set(re.findall(r"rx-[0-9a-f]{16}", listing.text)) == {his_rx["id"]}  # his own, nothing of hers
        # A record of hers that points into his pod (as one made before this check could) reads nothing there.
        with mesh.apps["prescriptions"].state.service.database.session() as session:
            record = session.get(Prescription, her_rx["id"])
            record.pod_ref = f"{his_pod}prescriptions/{his_rx['id']}"
            session.add(record)
            session.commit()
        misread = await her.hospital("GET", f"/me/prescriptions/{her_rx['id']}")
        assert (misread.status, misread.body["type"]) == (403, "urn:citygate:problem:subject-mismatch")
        assert DRAFT.medication not in json.dumps(misread.body)
    new_in_his_log = (await his.access_log())[: len(await his.access_log()) - logged_before]
    assert new_in_his_log and all(entry["kind"] == "access.refused" for entry in new_in_his_log), new_in_his_log


async def dispensed_for(mesh: Mesh, browser: httpx.AsyncClient) -> tuple[dict, Phone]:
    """Rights regime: a prescription paid and dispensed under her consent for the pharmacy."""
    rx, her = await issued_for(mesh, browser)
    assert her is not None  # the rights regime: the consultation was on her phone
    assert (await pay(browser, rx, "rx-1", payee="prescriptions")).status_code == 201
    await her.decide((await her.the_consent_prompt(rx["id"]))["id"], "given")
    dispensed = await her.hospital("POST", f"/me/prescriptions/{rx['id']}/dispensation", {"pharmacy": PHARMACY})
    assert dispensed.status == 201, dispensed.body
    return rx, her


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_the_courier_gets_her_address_only_under_her_consent_used_once(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        rx, her = await dispensed_for(mesh, browser)
        path = f"/me/prescriptions/{rx['id']}"
        unasked = await her.hospital("POST", f"{path}/delivery", {"address": ADDRESS})
        assert (unasked.status, unasked.body["type"]) == (403, "urn:citygate:problem:no-consent")
        assert unasked.body["recipient"] == "parcel-courier"
        refusal = (await ledger_entries(mesh))[-1]
        assert (refusal["kind"], refusal["recipient"]) == ("access.refused", "parcel-courier")

        # She refuses the prompt: still no courier order; then she is asked again and allows it.
        first = (await her.hospital("POST", f"{path}/delivery-consent")).body
        await her.decide(first["consent_request"], "refused")
        assert (await her.hospital("POST", f"{path}/delivery", {"address": ADDRESS})).status == 403
        assert (await her.hospital("GET", path)).body["parcel_id"] is None
        second = (await her.hospital("POST", f"{path}/delivery-consent")).body
        assert second["consent_request"] != first["consent_request"] and second["status"] == "requested"
        await her.decide(second["consent_request"], "given")
        delivered = await her.hospital("POST", f"{path}/delivery", {"address": ADDRESS})
        assert delivered.status == 201, delivered.body
        # A one-time consent: used by this handover, so it is spent; a second order is refused anyway.
        spent = (await her.consent("GET", f"/me/artefacts/{second['consent_request']}")).json()
        assert spent["status"] == "expired"
        again = await her.hospital("POST", f"{path}/delivery", {"address": ADDRESS})
        assert (again.status, again.body["type"]) == (409, "urn:citygate:problem:delivery-already-ordered")
        late = await her.hospital("POST", f"{path}/delivery-consent")
        assert (late.status, late.body["type"]) == (409, "urn:citygate:problem:delivery-already-ordered")
        # Her access log shows the disclosure to the courier, with the refusals before it.
        log = (await her.consent("GET", "/me/access-log?recipient=parcel-courier")).json()
        assert [e["entry"]["kind"] for e in log["entries"]] == ["access.permitted", "access.refused", "access.refused"]


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_a_withdrawn_delivery_consent_stops_the_handover(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        rx, her = await dispensed_for(mesh, browser)
        path = f"/me/prescriptions/{rx['id']}"
        asked = (await her.hospital("POST", f"{path}/delivery-consent")).body
        await her.decide(asked["consent_request"], "given")
        await her.decide(asked["consent_request"], "withdrawn")
        refused = await her.hospital("POST", f"{path}/delivery", {"address": ADDRESS})
        assert (refused.status, refused.body["type"]) == (403, "urn:citygate:problem:no-consent")
        assert (
            occurrences(
                {"prescriptions": stored_text(mesh.apps["prescriptions"].state.service.database.engine)}, [ADDRESS]
            )
            == []
        )  # refused: the address was not kept either


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_asks_no_delivery_consent(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        rx, _ = await issued_for(mesh, browser)
        tokens = await app_tokens(mesh, PATIENT, "prescriptions")
        async with mesh.client("prescriptions") as hospital:
            asked = await hospital.post(
                f"/me/prescriptions/{rx['id']}/delivery-consent", headers=bearer(tokens["prescriptions"])
            )
        assert_problem(asked, 409, "no-consent-asked")


@pytest.mark.parametrize("regime", list(Regime))
async def test_another_citizens_prescription_is_not_found(mesh):
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        rx, _ = await issued_for(mesh, browser)
        assert (await pay(browser, rx, "rx-1", payee="prescriptions")).status_code == 201
    async with aclosing(await super_app(mesh, OTHER.handle)) as stranger:
        if mesh.regime is Regime.PLATFORM:
            assert_problem(
                await stranger.get(f"/city-services/prescriptions/{rx['id']}"), 404, "prescription-not-found"
            )
            for tail in ("dispensation", "delivery"):
                assert_problem(
                    await stranger.post(f"/city-services/prescriptions/{rx['id']}/{tail}", json={"address": ADDRESS}),
                    404,
                    "prescription-not-found",
                )
        else:
            his = await phone(mesh, stranger, OTHER)
            reads = len(await ledger_entries(mesh))
            for method, tail, body in (
                ("GET", "", None),
                ("POST", "/dispensation", {"pharmacy": PHARMACY}),
                ("POST", "/delivery", {"address": ADDRESS}),
            ):
                refused = await his.hospital(method, f"/me/prescriptions/{rx['id']}{tail}", body)
                assert (refused.status, refused.body["type"]) == (404, "urn:citygate:problem:prescription-not-found")
            assert len(await ledger_entries(mesh)) == reads  # her pod was never asked


@pytest.mark.parametrize("regime", list(Regime))
async def test_a_hospital_that_is_down_or_slow_is_answered_in_bounded_time(mesh):
    rx_host = urlsplit(mesh.urls["prescriptions"]).netloc
    async with aclosing(await super_app(mesh, PATIENT.handle)) as browser:
        if mesh.regime is Regime.PLATFORM:

            def ask():
                return browser.post("/city-services/prescriptions/consultations")
        else:

            def ask():  # an envelope the gateway cannot read: its fate is the department's
                return browser.post("/courier/prescriptions", json={"envelope": "e30.e30.e30.e30.e30"})

        await ask()  # the gateway holds its service token for the hospital from here on
        mesh.stop("prescriptions")
        started = time.monotonic()
        assert_problem(await ask(), 503, "department-unavailable")
        assert time.monotonic() - started < 2
        mesh.start("prescriptions")
        mesh.apps["gateway"].state.service.settings.department_timeout_seconds = 0.3
        slow = LateAnswers(mesh.transport.routes[rx_host], delay=1.0)
        mesh.transport.routes[rx_host] = slow
        started = time.monotonic()
        assert_problem(await ask(), 504, "department-timeout")
        assert time.monotonic() - started < 0.9
        await asyncio.gather(*slow.calls)
        mesh.transport.routes[rx_host] = slow.inner
