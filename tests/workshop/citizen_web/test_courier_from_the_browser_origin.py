"""The rights phone's web app reaches the services from its own origin: who lets it (CORS, the
cross-origin check, the login's return), what the identity provider accepts as its redirect URI,
and what the super-app gateway gets to see when it relays the app's sealed requests."""

from __future__ import annotations

import time
import uuid
from contextlib import aclosing
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from identity.totp import totp
from kernel.courier import open_response, seal_request
from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from tests.fixtures.citizen_web import CITIZEN_WEB_ORIGIN, OTHER_ORIGIN, citizen_web_mesh, spy_on_gateway
from tests.fixtures.logins import CAR_OWNER, super_app
from tests.fixtures.mesh import Mesh
from tests.fixtures.oidc_rp import hidden_fields
from tests.fixtures.problems import assert_problem
from tests.fixtures.stored import dump
from workshop.citizen_app import AppAuthorization, CitizenLoginError, redeem, sign_in

WEB_CALLBACK = f"{CITIZEN_WEB_ORIGIN}/callback"
# what the web app's fetches carry: its origin, and another port of the same host is the same site
FROM_THE_WEB_APP = {"origin": CITIZEN_WEB_ORIGIN, "sec-fetch-site": "same-site"}


@pytest.fixture
async def mesh(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Any:
    async with citizen_web_mesh(monkeypatch, tmp_path) as running:
        yield running


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": "content-type,idempotency-key,traceparent",
    }


async def web_app_token(mesh: Mesh, service: str = "fines", handle: str = CAR_OWNER.handle) -> str:
    """The web app's login for ``service`` as its page runs it: redirect to its own /callback,
    the code redeemed cross-origin (the answer must be readable by the page)."""
    auth = AppAuthorization.for_service(service, redirect_uri=WEB_CALLBACK)
    async with mesh.client("identity") as identity:
        code = await sign_in(identity, auth, username=handle, password=DEMO_PASSWORD)
        identity.headers["origin"] = CITIZEN_WEB_ORIGIN
        answer = await redeem(identity, auth, code)
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN
    return str(answer.json()["access_token"])


# --- CORS: the web app's origin, on the paths it needs, and nothing else ------------------------------


@pytest.mark.parametrize(
    ("service", "path", "credentials"),
    [
        ("gateway", "/courier/fines", True),
        ("gateway", "/wallet/payments", True),
        ("gateway", "/city-services/appointments/slots", True),
        ("identity", "/oauth2/token", False),
    ],
)
async def test_cors_lets_only_the_citizen_web_origin_read(mesh, service, path, credentials):
    async with mesh.client(service) as client:
        allowed = await client.options(path, headers=preflight(CITIZEN_WEB_ORIGIN))
        refused = await client.options(path, headers=preflight(OTHER_ORIGIN))
        evil = await client.options(path, headers=preflight("http://evil.example"))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN
    assert "idempotency-key" in allowed.headers["access-control-allow-headers"].lower()
    assert (allowed.headers.get("access-control-allow-credentials") == "true") is credentials
    for answer in (refused, evil):
        assert "access-control-allow-origin" not in answer.headers


async def test_a_department_key_is_readable_by_the_web_app_only(mesh):
    async with mesh.client("fines") as fines:
        mine = await fines.get("/.well-known/jwks.json", headers={"origin": CITIZEN_WEB_ORIGIN})
        other = await fines.get("/.well-known/jwks.json", headers={"origin": OTHER_ORIGIN})
        elsewhere = await fines.get("/healthz", headers={"origin": CITIZEN_WEB_ORIGIN})
    assert mine.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN
    assert "access-control-allow-credentials" not in mine.headers  # public keys: no cookies needed
    assert any(key.get("use") == "enc" for key in mine.json()["keys"])
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in elsewhere.headers  # only the keys, not the whole service


async def test_the_gateway_opens_only_its_relay_wallet_and_profile_to_the_web_app(mesh):
    async with mesh.client("gateway") as gateway:
        history = await gateway.get("/me/history", headers={"origin": CITIZEN_WEB_ORIGIN})
        profile = await gateway.get("/me/profile", headers={"origin": CITIZEN_WEB_ORIGIN})
        closed = [
            await gateway.options(path, headers=preflight(CITIZEN_WEB_ORIGIN, method))
            for path, method in (
                ("/city-services/appointments/bookings", "POST"),
                ("/city-services/fines", "GET"),
                ("/city-services/prescriptions/consultations", "POST"),
            )
        ]
    assert "access-control-allow-origin" not in history.headers
    for answer in closed:  # only the free slots of the super-app's own city services
        assert "access-control-allow-origin" not in answer.headers
    assert profile.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN


async def test_without_the_setting_no_service_answers_cors(monkeypatch, tmp_path):
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh:
        async with mesh.client("gateway") as gateway:
            answer = await gateway.options("/courier/fines", headers=preflight(CITIZEN_WEB_ORIGIN))
    assert "access-control-allow-origin" not in answer.headers


# --- the redirect URI: the web app's own, registered; matched exactly -----------------------------------


async def test_identity_accepts_the_web_apps_registered_callback(mesh):
    assert await web_app_token(mesh)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:9610/callback",  # another port: a page another service serves there would get the code
        "http://127.0.0.1:8204/callback",  # the pod, which serves what people stored in it
        "http://localhost:8210/callback",  # another host
        "http://127.0.0.2:8210/callback",
        "http://evil.example:8210/callback",
        "http://127.0.0.1:8210@evil.example/callback",
        "https://127.0.0.1:8210/callback",
        "http://127.0.0.1:8210/callback/x",
        "http://127.0.0.1:8210/callback?next=x",
    ],
)
async def test_identity_refuses_any_other_callback(mesh, redirect_uri):
    auth = AppAuthorization.for_service("fines", redirect_uri=redirect_uri)
    async with mesh.client("identity") as identity:
        first = await identity.get(f"/authorize?{auth.query}", follow_redirects=False)
        assert not first.is_redirect  # never sent anywhere, with an error or a code
        assert first.status_code == 400
        with pytest.raises(CitizenLoginError):
            await sign_in(identity, auth, username=CAR_OWNER.handle, password=DEMO_PASSWORD)


async def test_without_the_setting_the_web_apps_callback_is_refused(tmp_path):
    auth = AppAuthorization.for_service("fines", redirect_uri=WEB_CALLBACK)
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh, mesh.client("identity") as identity:
        assert (await identity.get(f"/authorize?{auth.query}")).status_code == 400


async def test_the_login_page_takes_a_login_hint_escaped(mesh):
    auth = AppAuthorization.for_service("fines", redirect_uri=WEB_CALLBACK, login_hint="li-wei'><b>x")
    async with mesh.client("identity") as identity:
        page = await identity.get(f"/authorize?{auth.query}")
    assert "value='li-wei&#x27;&gt;&lt;b&gt;x'" in page.text
    assert "<b>x" not in page.text


# --- the super-app's login and its way back to the web app ---------------------------------------------


async def log_in_with_return(mesh: Mesh, return_to: str) -> httpx.Response:
    """The browser's login to the gateway, asking to come back to ``return_to``; the callback's answer."""
    callback = mesh.urls["gateway"] + "/auth/callback"
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        answer = await browser.get(mesh.urls["gateway"] + "/login", params={"return_to": return_to})
        for _ in range(8):
            if answer.is_redirect:
                location = urljoin(str(answer.url), answer.headers["location"])
                answer = await browser.get(location)
                if location.startswith(callback):
                    return answer
            elif "name=password" in answer.text:
                fields = hidden_fields(answer.text) | {"username": CAR_OWNER.handle, "password": DEMO_PASSWORD}
                answer = await browser.post(mesh.urls["identity"] + "/login", data=fields)
            else:  # the consent page
                fields = hidden_fields(answer.text) | {"decision": "allow"}
                answer = await browser.post(mesh.urls["identity"] + "/authorize", data=fields)
    raise AssertionError(f"the login did not come back: {answer.status_code} {answer.text[:300]}")


async def test_the_gateway_login_returns_to_the_web_app(mesh):
    back = f"{CITIZEN_WEB_ORIGIN}/?persona=li-wei"
    answer = await log_in_with_return(mesh, back)
    assert answer.status_code == 303
    assert answer.headers["location"] == back


@pytest.mark.parametrize(
    "return_to",
    [
        "http://evil.example/",
        f"{OTHER_ORIGIN}/",
        "//evil.example/",
        f"{CITIZEN_WEB_ORIGIN}@evil.example/",
        "javascript:alert(1)",
        "http://127.0.0.1:82100/",
    ],
)
async def test_the_gateway_login_returns_nowhere_else(mesh, return_to):
    # refused before the login starts (superapp_gateway/return_to.py): no login attempt, no cookie
    # carrying it; a carried one that was changed on the way is dropped at the callback (the phone
    # pages' tests show that)
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        answer = await browser.get(mesh.urls["gateway"] + "/login", params={"return_to": return_to})
    assert_problem(answer, 400, "unsafe-return-to")
    assert "set-cookie" not in answer.headers


# --- the blind courier from the web app's origin: what the gateway gets ---------------------------------


async def test_the_gateway_relays_and_pays_for_the_web_app_and_never_sees_plaintext(mesh, monkeypatch):
    token = await web_app_token(mesh)
    browser = await super_app(mesh)  # the super-app session cookie
    async with aclosing(browser), mesh.client("fines") as fines:
        jwks = (await fines.get("/.well-known/jwks.json")).json()
        spy = spy_on_gateway(mesh, monkeypatch)

        async def courier(path: str) -> Any:
            envelope, reply_key = seal_request(jwks, method="GET", path=path, body=None, token=token)
            relayed = await browser.post("/courier/fines", json={"envelope": envelope}, headers=FROM_THE_WEB_APP)
            assert relayed.status_code == 200, relayed.text
            assert relayed.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN
            answer = open_response(relayed.json()["envelope"], reply_key)
            assert answer.status == 200, answer.body
            return answer.body

        fines_held = await courier("/me/fines")
        fine = next(f for f in fines_held if f["status"] != "paid")
        paid = await browser.post(
            "/wallet/payments",
            json={"payee": "fines", "reference": str(fine["id"]), "amount_cents": fine["amount_cents"]},
            headers={**FROM_THE_WEB_APP, "idempotency-key": str(uuid.uuid4())},
        )
        assert paid.status_code == 201, paid.text
        assert (await courier(f"/me/fines/{fine['id']}"))["status"] == "paid"

    seen = spy.everything()
    stored = repr(dump(mesh, "gateway")).encode()
    assert spy.received and spy.sent  # it did relay: in from the app, out to the traffic police
    secrets_in_clear = [token, *(f[name] for f in fines_held for name in ("plate", "offence", "place"))]
    for secret in secrets_in_clear:
        assert secret.encode() not in seen, f"the gateway received {secret!r} in clear"
        assert secret.encode() not in stored, f"the gateway stored {secret!r}"
    # what it did learn, by design: the wallet payment it made (payee, reference, amount)
    assert str(fine["id"]).encode() in stored


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": OTHER_ORIGIN, "sec-fetch-site": "same-site"},
        {"origin": CITIZEN_WEB_ORIGIN, "sec-fetch-site": "cross-site"},
    ],
    ids=["another-origin", "cross-site"],
)
async def test_no_other_origin_posts_with_the_session(mesh, headers):
    browser = await super_app(mesh)
    async with aclosing(browser):
        answer = await browser.post("/courier/fines", json={"envelope": "x.y.z.w.v"}, headers=headers)
    assert answer.status_code == 403


async def test_a_couple_books_and_confirms_through_the_gateway_which_never_sees_plaintext(mesh, monkeypatch):
    """The appointments journey as the web app's page runs it (static/journeys/appointments.js)."""
    booker, partner = by_handle("zhang-min"), by_handle("chen-jun")
    tokens = {person.handle: await web_app_token(mesh, "appointments", person.handle) for person in (booker, partner)}
    hers, his = await super_app(mesh, booker.handle), await super_app(mesh, partner.handle)
    async with aclosing(hers), aclosing(his), mesh.client("appointments") as bureau:
        jwks = (await bureau.get("/.well-known/jwks.json")).json()
        slots = await hers.get(
            "/city-services/appointments/slots", params={"type": "divorce"}, headers=FROM_THE_WEB_APP
        )
        assert slots.status_code == 200 and slots.headers["access-control-allow-origin"] == CITIZEN_WEB_ORIGIN
        slot = slots.json()[0]
        spy = spy_on_gateway(mesh, monkeypatch)

        async def courier(browser: httpx.AsyncClient, handle: str, method: str, path: str, body: Any = None) -> Any:
            envelope, reply_key = seal_request(jwks, method=method, path=path, body=body, token=tokens[handle])
            relayed = await browser.post("/courier/appointments", json={"envelope": envelope}, headers=FROM_THE_WEB_APP)
            assert relayed.status_code == 200, relayed.text
            answer = open_response(relayed.json()["envelope"], reply_key)
            assert 200 <= answer.status < 300, answer.body
            return answer.body

        booking = await courier(hers, booker.handle, "POST", "/me/bookings", {"slot_id": slot["id"], "type": "divorce"})
        waiting = await courier(his, partner.handle, "GET", "/me/bookings")
        assert [b["id"] for b in waiting if b["awaiting_your_confirmation"]] == [booking["id"]]
        confirmed = await courier(his, partner.handle, "POST", f"/me/bookings/{booking['id']}/confirmations", {})
        assert confirmed["status"] == "confirmed"

    seen, stored = spy.everything(), repr(dump(mesh, "gateway")).encode()
    assert spy.received and spy.sent
    for secret in (*tokens.values(), booking["id"], "divorce", booker.resident_id, partner.resident_id):
        assert secret.encode() not in seen, f"the gateway received {secret!r} in clear"
        assert secret.encode() not in stored, f"the gateway stored {secret!r}"


async def test_a_prescription_through_the_gateway_which_never_sees_plaintext(mesh, monkeypatch):
    """The prescriptions journey as the web app's page runs it (static/journeys/prescriptions.js): the
    hospital and the consent service through the courier, the pod directly, the wallet in clear."""
    patient = by_handle("wang-fang")
    tokens: dict[str, str] = {}
    async with mesh.client("identity") as identity:  # one login session: the second factor once
        for service in ("prescriptions", "pod", "consent"):
            auth = AppAuthorization.for_service(service, redirect_uri=WEB_CALLBACK)
            code = await sign_in(
                identity,
                auth,
                username=patient.handle,
                password=DEMO_PASSWORD,
                totp_code=lambda: totp(patient.totp_secret, time.time()),
            )
            answer = await redeem(identity, auth, code)
            assert answer.status_code == 200, answer.text
            tokens[service] = answer.json()["access_token"]
    browser = await super_app(mesh, patient.handle)
    async with aclosing(browser), mesh.client("pod") as pod:
        opened = await pod.post("/pods", headers={"authorization": f"Bearer {tokens['pod']}", **FROM_THE_WEB_APP})
        assert opened.status_code in (200, 201), opened.text
        storage = opened.json()["storage"]
        keys = {}
        for service in ("prescriptions", "consent"):
            async with mesh.client(service) as department:
                keys[service] = (await department.get("/.well-known/jwks.json")).json()
        spy = spy_on_gateway(mesh, monkeypatch)

        async def courier(service: str, method: str, path: str, body: Any = None) -> Any:
            envelope, reply_key = seal_request(
                keys[service], method=method, path=path, body=body, token=tokens[service]
            )
            relayed = await browser.post(f"/courier/{service}", json={"envelope": envelope}, headers=FROM_THE_WEB_APP)
            assert relayed.status_code == 200, relayed.text
            answer = open_response(relayed.json()["envelope"], reply_key)
            assert 200 <= answer.status < 300, answer.body
            return answer.body

        rx = await courier("prescriptions", "POST", "/me/consultations", {"pod": storage})
        paid = await browser.post(
            "/wallet/payments",
            json={"payee": "prescriptions", "reference": rx["id"], "amount_cents": rx["amount_cents"]},
            headers={**FROM_THE_WEB_APP, "idempotency-key": str(uuid.uuid4())},
        )
        assert paid.status_code == 201, paid.text
        asked = await courier("consent", "GET", "/me/artefacts?status=requested")
        prompt = next(artefact for artefact in asked if rx["id"] in artefact["summary"])
        await courier("consent", "POST", f"/me/artefacts/{prompt['id']}/status", {"status": "given"})
        pharmacy = "Liwan Dashenlin Pharmacy"
        await courier("prescriptions", "POST", f"/me/prescriptions/{rx['id']}/dispensation", {"pharmacy": pharmacy})
        delivery = await courier("prescriptions", "POST", f"/me/prescriptions/{rx['id']}/delivery-consent")
        await courier("consent", "POST", f"/me/artefacts/{delivery['consent_request']}/status", {"status": "given"})
        parcel = await courier(
            "prescriptions", "POST", f"/me/prescriptions/{rx['id']}/delivery", {"address": patient.address}
        )
        assert parcel["address"] == patient.address

    seen, stored = spy.everything(), repr(dump(mesh, "gateway")).encode()
    assert spy.received and spy.sent
    secrets_in_clear = [
        *tokens.values(),
        rx["medication"],
        rx["dose"],
        rx["diagnosis_code"],
        rx["patient"],
        storage,
        pharmacy,
        patient.address,
        patient.resident_id,
        prompt["id"],
    ]
    for secret in secrets_in_clear:
        assert secret.encode() not in seen, f"the gateway received {secret!r} in clear"
        assert secret.encode() not in stored, f"the gateway stored {secret!r}"
    assert rx["id"].encode() in stored  # what it did learn, by design: the payment's reference
