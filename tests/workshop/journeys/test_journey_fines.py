"""Journey 1, pay a traffic fine, through the super-app's REST API in both regimes (in-process mesh,
real HTTP semantics between the services), with what each party stored checked on the data."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from urllib.parse import urlsplit

import httpx
import pytest

from kernel.courier import open_response, seal_request
from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.logins import super_app
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.problems import assert_problem
from tests.fixtures.stored import dump
from tests.fixtures.transports import LateAnswers
from tests.fixtures.wallet import pay
from workshop.citizen_app import citizen_token
from workshop.exposure import occurrences

pytestmark = [BOTH_BACKENDS]

CAR_OWNER = by_handle("li-wei")


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_the_super_app_looks_up_pays_and_remembers_everything(mesh):
    async with aclosing(await super_app(mesh)) as browser:
        catalogue = (await browser.get("/catalogue")).json()
        assert {"fines", "appointments", "prescriptions", "id-card"} <= {entry["key"] for entry in catalogue}
        assert "my-data" not in {entry["key"] for entry in catalogue}
        fines = (await browser.get("/city-services/fines")).json()
        unpaid = [fine for fine in fines if fine["status"] == "unpaid"]
        assert len(unpaid) == 2 and {fine["plate"] for fine in fines} == {DEMO_PLATE}
        before = (await browser.get("/wallet")).json()["balance_cents"]

        paid = await pay(browser, unpaid[0], "fine-1")
        assert paid.status_code == 201 and paid.json()["status"] == "completed", paid.text
        again = await pay(browser, unpaid[0], "fine-1")
        assert again.status_code == 200 and again.json()["id"] == paid.json()["id"]
        assert (await browser.get("/wallet")).json()["balance_cents"] == before - unpaid[0]["amount_cents"]
        receipt = await browser.get(f"/city-services/fines/{unpaid[0]['id']}/receipt")
        assert receipt.status_code == 200 and receipt.json()["payment_id"] == paid.json()["id"]
        assert_problem(await browser.get("/city-services/fines/999999/receipt"), 404, "fine-not-found")
        assert_problem(await pay(browser, unpaid[0], "fine-2"), 409)  # already paid: refused, refunded
        history = (await browser.get("/me/history")).json()
        assert [event["event"] for event in history][:2] == ["looked up my fines", "paid from the wallet"]
    # The platform keeps who the citizen is next to what they were fined for.
    found = occurrences(dump(mesh, "gateway"), [CAR_OWNER.resident_id, DEMO_PLATE, unpaid[0]["offence"]])
    assert {hit.value for hit in found} == {CAR_OWNER.resident_id, DEMO_PLATE, unpaid[0]["offence"]}
    async with httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"]) as stranger:
        assert_problem(await stranger.get("/city-services/fines"), 401, "not-logged-in")
        assert_problem(await stranger.post("/courier/fines", json={"envelope": "x"}), 401, "not-logged-in")


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_the_device_asks_through_the_blind_courier_and_the_super_app_learns_only_the_payment(mesh):
    async with aclosing(await super_app(mesh)) as browser, mesh.client("identity") as identity:
        assert_problem(await browser.get("/city-services/fines"), 403, "blind-courier-only")
        token = (
            await citizen_token(identity, username=CAR_OWNER.handle, password=DEMO_PASSWORD, resource_service="fines")
        ).access_token
        async with mesh.client("fines") as fines_service:
            jwks = (await fines_service.get("/.well-known/jwks.json")).json()

        async def through_the_courier(method: str, path: str, body=None):
            envelope, reply_key = seal_request(jwks, method=method, path=path, body=body, token=token)
            relayed = await browser.post("/courier/fines", json={"envelope": envelope})
            assert relayed.status_code == 200, relayed.text
            assert DEMO_PLATE not in relayed.text  # the gateway relays what it cannot read
            return open_response(relayed.json()["envelope"], reply_key)

        answer = await through_the_courier("GET", "/me/fines")
        assert answer.status == 200
        unpaid = [fine for fine in answer.body if fine["status"] == "unpaid"]
        assert len(unpaid) == 2
        paid = await pay(browser, unpaid[0], "fine-1")
        assert paid.status_code == 201 and paid.json()["status"] == "completed", paid.text
        assert (await pay(browser, unpaid[0], "fine-1")).json()["id"] == paid.json()["id"]
        now = await through_the_courier("GET", f"/me/fines/{unpaid[0]['id']}")
        assert now.status == 200 and now.body["status"] == "paid"
        assert (await browser.get("/me/history")).json() == []
    stored = dump(mesh, "gateway")
    assert occurrences(stored, [CAR_OWNER.resident_id, DEMO_PLATE, unpaid[0]["offence"]]) == []


@pytest.mark.parametrize("regime", list(Regime))
async def test_a_department_that_is_down_or_slow_is_answered_in_bounded_time(mesh):
    """Lookups (platform) and relays (rights) are reads the citizen may repeat: answered 503/504, never retried."""
    fines_host = urlsplit(mesh.urls["fines"]).netloc
    async with aclosing(await super_app(mesh)) as browser:
        if mesh.regime is Regime.PLATFORM:

            def ask():
                return browser.get("/city-services/fines")
        else:

            def ask():  # an envelope the gateway cannot read: its fate is the department's
                return browser.post("/courier/fines", json={"envelope": "e30.e30.e30.e30.e30"})

        await ask()  # the gateway holds its service token for fines from here on
        mesh.stop("fines")
        assert_problem(await ask(), 503, "department-unavailable")
        mesh.start("fines")
        mesh.apps["gateway"].state.service.settings.department_timeout_seconds = 0.3
        slow = LateAnswers(mesh.transport.routes[fines_host], delay=1.0)
        mesh.transport.routes[fines_host] = slow
        started = time.monotonic()
        assert_problem(await ask(), 504, "department-timeout")
        assert time.monotonic() - started < 0.9
        await asyncio.gather(*slow.calls)
        mesh.transport.routes[fines_host] = slow.inner
