"""Journey 2, book a marriage or divorce appointment, through the super-app's REST API in both regimes
(in-process mesh, real HTTP semantics between the services), with what the gateway stored checked on
the data."""

from __future__ import annotations

import time
from contextlib import aclosing

import httpx
import pytest

from kernel.courier import open_response, seal_request
from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from services.appointments.demo import ONE_PLACE_TYPE
from tests.fixtures.logins import super_app
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.problems import assert_problem
from tests.fixtures.stored import dump
from tests.fixtures.transports import record_paths
from workshop.citizen_app import citizen_token
from workshop.exposure import occurrences

pytestmark = [BOTH_BACKENDS, pytest.mark.started("gateway", "fines")]

HUSBAND, WIFE = by_handle("chen-jun"), by_handle("zhang-min")
BOOKINGS = "/city-services/appointments/bookings"


async def free_slots(browser: httpx.AsyncClient, kind: str) -> list[dict]:
    response = await browser.get("/city-services/appointments/slots", params={"type": kind})
    assert response.status_code == 200, response.text
    assert response.json() and {slot["type"] for slot in response.json()} == {kind}
    return response.json()


async def book(browser: httpx.AsyncClient, slot: dict) -> httpx.Response:
    return await browser.post(BOOKINGS, json={"slot_id": slot["id"], "type": slot["type"]})


async def reported_to_the_credit_platform(mesh) -> None:
    """The traffic police's outbox delivered (Chen Jun's overdue fine; later its settlement)."""
    await mesh.apps["fines"].state.service.worker.run_once()


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_the_blacklist_refuses_the_divorce_until_he_pays_then_the_super_app_books_it(mesh):
    await reported_to_the_credit_platform(mesh)
    async with (
        aclosing(await super_app(mesh, WIFE.handle)) as wife,
        aclosing(await super_app(mesh, HUSBAND.handle)) as husband,
    ):
        divorce = (await free_slots(wife, "divorce"))[0]
        # She books: the bureau asks the credit platform about both spouses; his overdue fine refuses her.
        refused = assert_problem(await book(wife, divorce), 403, "joint-punishment")
        assert refused["restricted_parties"] == ["partner"] and refused["upstream"] == "appointments"
        [reason] = refused["reasons"]
        assert (reason["party"], reason["kind"], reason["source"]) == ("partner", "overdue-fine", "fines")
        assert "no online booking" in refused["detail"]
        # He tries himself: refused as the booker, for the same fine.
        his = assert_problem(await book(husband, divorce), 403, "joint-punishment")
        assert his["restricted_parties"] == ["booker"] and his["reasons"][0]["kind"] == "overdue-fine"
        assert (await husband.get(BOOKINGS)).json() == []

        # He pays the fine from the wallet (journey 1); the traffic police report the settlement.
        [fine] = [f for f in (await husband.get("/city-services/fines")).json() if f["status"] != "paid"]
        paid = await husband.post(
            "/wallet/payments",
            headers={"Idempotency-Key": "chen-jun-fine"},
            json={"payee": "fines", "reference": str(fine["id"]), "amount_cents": fine["amount_cents"]},
        )
        assert paid.status_code == 201 and paid.json()["status"] == "completed", paid.text
        await reported_to_the_credit_platform(mesh)

        booked = await book(wife, divorce)
        assert booked.status_code == 201, booked.text
        booking = booked.json()
        assert (booking["type"], booking["status"], booking["partner_confirmed"]) == ("divorce", "pending", False)
        assert booking.get("invitation_code") is None  # a divorce's partner comes from the register
        # He finds it waiting for him, and confirms; confirming again changes nothing.
        [waiting] = (await husband.get(BOOKINGS)).json()
        assert (waiting["id"], waiting["role"], waiting["awaiting_your_confirmation"]) == (
            booking["id"],
            "partner",
            True,
        )
        assert (await husband.get(f"{BOOKINGS}/{booking['id']}")).json()["id"] == booking["id"]
        confirmed = await husband.post(f"{BOOKINGS}/{booking['id']}/confirmations", json={})
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed", confirmed.text
        again = await husband.post(f"{BOOKINGS}/{booking['id']}/confirmations")
        assert again.status_code == 200 and again.json()["status"] == "confirmed"
        assert (await wife.get(f"{BOOKINGS}/{booking['id']}")).json()["status"] == "confirmed"
        # Only the spouse the register names may confirm; a stranger's view of it is "not found".
        async with aclosing(await super_app(mesh, "li-wei")) as stranger:
            assert_problem(await stranger.post(f"{BOOKINGS}/{booking['id']}/confirmations"), 403, "not-the-partner")
            assert_problem(await stranger.get(f"{BOOKINGS}/{booking['id']}"), 404, "booking-not-found")

        history = (await wife.get("/me/history")).json()
        events = [event["event"] for event in history]
        assert events == ["looked at free slots", "booking refused", "booked a divorce appointment"]
        assert history[1]["details"]["type"] == "divorce" and history[1]["details"]["reasons"][0]["party"] == "partner"
        assert "confirmed a divorce appointment" in [e["event"] for e in (await husband.get("/me/history")).json()]
    # The platform keeps who wants a divorce, keyed on the resident IDs, and why it was refused.
    found = occurrences(dump(mesh, "gateway"), [WIFE.resident_id, HUSBAND.resident_id, "divorce", "overdue-fine"])
    assert {hit.value for hit in found} == {WIFE.resident_id, HUSBAND.resident_id, "divorce", "overdue-fine"}
    assert any(hit.table == "journey_event" and hit.value == "divorce" for hit in found)


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_a_full_slot_is_the_bureaus_409_passed_through(mesh):
    async with (
        aclosing(await super_app(mesh, WIFE.handle)) as wife,
        aclosing(await super_app(mesh, "wang-fang")) as other,
    ):
        [one_place] = [slot for slot in await free_slots(wife, ONE_PLACE_TYPE) if slot["capacity"] == 1]
        first = await book(wife, one_place)  # a certificate copy is hers alone: no partner, no blacklist
        assert first.status_code == 201 and first.json()["status"] == "confirmed", first.text
        full = assert_problem(await book(other, one_place), 409, "slot-full")
        assert full["upstream"] == "appointments"
        assert one_place["id"] not in {slot["id"] for slot in await free_slots(other, ONE_PLACE_TYPE)}
        assert_problem(
            await other.post(
                BOOKINGS, json={"slot_id": one_place["id"], "type": "certificate-copy", "subject": WIFE.resident_id}
            ),
            422,
        )
        refusals = [e for e in (await other.get("/me/history")).json() if e["event"] == "booking refused"]
        assert [e["details"]["problem"] for e in refusals] == ["urn:citygate:problem:slot-full"]


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_a_marriage_partner_joins_with_the_code_which_the_super_app_does_not_keep(mesh):
    async with (
        aclosing(await super_app(mesh, "li-wei")) as groom,
        aclosing(await super_app(mesh, "wang-fang")) as bride,
    ):
        booked = await book(groom, (await free_slots(groom, "marriage"))[0])
        assert booked.status_code == 201, booked.text
        booking, code = booked.json(), booked.json()["invitation_code"]
        confirmations = f"{BOOKINGS}/{booking['id']}/confirmations"
        assert_problem(
            await bride.post(confirmations, json={"invitation_code": "0000-0000-0000"}), 403, "invalid-invitation-code"
        )
        joined = await bride.post(confirmations, json={"invitation_code": code})
        assert joined.status_code == 200 and joined.json()["status"] == "confirmed", joined.text
        assert [b["role"] for b in (await bride.get(BOOKINGS)).json()] == ["partner"]
    assert occurrences(dump(mesh, "gateway"), [code, code.replace("-", "")]) == []
    assert occurrences(dump(mesh, "gateway"), ["marriage"])  # but the platform keeps who is marrying


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_each_spouse_books_and_confirms_through_the_blind_courier(mesh, monkeypatch):
    assert "credit" not in mesh.apps  # no credit platform in this regime
    asked = record_paths(mesh, monkeypatch)
    async with (
        aclosing(await super_app(mesh, WIFE.handle)) as wife,
        aclosing(await super_app(mesh, HUSBAND.handle)) as husband,
        aclosing(await super_app(mesh, "li-wei")) as stranger,
        mesh.client("appointments") as bureau,
    ):
        jwks = (await bureau.get("/.well-known/jwks.json")).json()

        async def device(handle: str, browser: httpx.AsyncClient):
            async with mesh.client("identity") as identity:  # each phone its own (no shared login cookie)
                token = (
                    await citizen_token(
                        identity, username=handle, password=DEMO_PASSWORD, resource_service="appointments"
                    )
                ).access_token

            async def through_the_courier(method: str, path: str, body=None):
                envelope, reply_key = seal_request(jwks, method=method, path=path, body=body, token=token)
                relayed = await browser.post("/courier/appointments", json={"envelope": envelope})
                assert relayed.status_code == 200, relayed.text
                assert "divorce" not in relayed.text  # the gateway relays what it cannot read
                return open_response(relayed.json()["envelope"], reply_key)

            return through_the_courier

        her_app, his_app, strangers_app = (
            await device(WIFE.handle, wife),
            await device(HUSBAND.handle, husband),
            await device("li-wei", stranger),
        )
        # The gateway will not book for anyone here; listing free slots names nobody, so it may.
        divorce = (await free_slots(wife, "divorce"))[0]
        assert_problem(await book(wife, divorce), 403, "blind-courier-only")
        assert_problem(await wife.get(BOOKINGS), 403, "blind-courier-only")
        assert_problem(await husband.post(f"{BOOKINGS}/any/confirmations"), 403, "blind-courier-only")

        booked = await her_app("POST", "/me/bookings", {"slot_id": divorce["id"], "type": "divorce"})
        assert booked.status == 201, booked.body
        booking = booked.body
        assert (booking["type"], booking["status"]) == ("divorce", "pending")
        mine = await his_app("GET", "/me/bookings")
        assert [(b["id"], b["role"], b["awaiting_your_confirmation"]) for b in mine.body] == [
            (booking["id"], "partner", True)
        ]
        confirmed = await his_app("POST", f"/me/bookings/{booking['id']}/confirmations", {})
        assert confirmed.status == 200 and confirmed.body["status"] == "confirmed", confirmed.body
        assert (await her_app("GET", f"/me/bookings/{booking['id']}")).body["status"] == "confirmed"
        # Someone else's booking is "not found" inside the envelope, as an unknown one is.
        nosy = await strangers_app("GET", f"/me/bookings/{booking['id']}")
        assert nosy.status == 404 and nosy.body["type"].endswith("booking-not-found")
        assert (await strangers_app("POST", f"/me/bookings/{booking['id']}/confirmations", {})).status == 403
        assert (await wife.get("/me/history")).json() == [] == (await husband.get("/me/history")).json()
    assert not any(path.endswith("/restrictions") for path in asked)  # nobody asked about his fine
    # The gateway's database holds no resident ID, no booking and no appointment type of theirs.
    rows = dump(mesh, "gateway")
    assert rows["gateway"]  # sessions, wallets: the check is not vacuous
    needles = [WIFE.resident_id, HUSBAND.resident_id, booking["id"], "divorce", "marriage", "certificate-copy"]
    assert occurrences(rows, needles) == []


@pytest.mark.parametrize("regime", list(Regime))
async def test_the_bureau_down_is_a_503_in_bounded_time_and_no_session_is_a_401(mesh):
    async with aclosing(await super_app(mesh, WIFE.handle)) as wife:
        slot = (await free_slots(wife, "divorce"))[0]  # the gateway holds its token for the bureau from here on
        mesh.stop("appointments")
        started = time.monotonic()
        assert_problem(await wife.get("/city-services/appointments/slots"), 503, "department-unavailable")
        if mesh.regime is Regime.PLATFORM:
            assert_problem(await book(wife, slot), 503, "department-unavailable")
        else:  # an envelope the gateway cannot read: its fate is the bureau's
            relayed = await wife.post("/courier/appointments", json={"envelope": "e30.e30.e30.e30.e30"})
            assert_problem(relayed, 503, "department-unavailable")
        assert time.monotonic() - started < 2 * mesh.apps["gateway"].state.service.settings.department_timeout_seconds
        mesh.start("appointments")
    async with httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"]) as nobody:
        for answer in (
            await nobody.get("/city-services/appointments/slots"),
            await nobody.get(BOOKINGS),
            await nobody.post(BOOKINGS, json={"slot_id": 1, "type": "divorce"}),
            await nobody.post(f"{BOOKINGS}/x/confirmations"),
            await nobody.post("/courier/appointments", json={"envelope": "x"}),
        ):
            assert_problem(answer, 401, "not-logged-in")
