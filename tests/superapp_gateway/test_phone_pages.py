"""The platform phone (/app/): the super-app's own pages, from login to a paid fine's receipt, and
how they hold up against forged forms, open redirects and hostile values."""

from __future__ import annotations

from contextlib import aclosing

import httpx
import pytest
from sqlmodel import select

from kernel.personas import DEMO_PASSWORD, Persona, by_handle
from services.fines.demo import DEMO_PLATE
from services.fines.models import Fine
from superapp_gateway.settings import Settings
from tests.fixtures.fines import payment_rows
from tests.fixtures.matrix import PLATFORM_ONLY, RIGHTS_ONLY, SQLITE_ONLY
from tests.fixtures.phone_pages import (
    CAR_OWNER,
    OWN_PAGE,
    agree_on_the_sheet,
    forms,
    log_in_from_the_phone,
    login_link,
)
from tests.fixtures.problems import assert_problem
from workshop.citizen_app import through_login_pages

pytestmark = [SQLITE_ONLY]


def a_browser(mesh) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=mesh.transport, follow_redirects=False)


async def on_the_grid(mesh, browser: httpx.AsyncClient, persona: Persona = CAR_OWNER) -> httpx.Response:
    sheet = await log_in_from_the_phone(mesh, browser, persona)
    agreed = await agree_on_the_sheet(mesh, browser, sheet.text)
    assert agreed.status_code == 303 and agreed.headers["location"] == "/app/"
    return await browser.get(mesh.urls["gateway"] + "/app/")


@PLATFORM_ONLY
async def test_the_login_round_trip_lands_on_the_agreement_sheet_then_the_grid(mesh):
    async with aclosing(a_browser(mesh)) as browser:
        home = await browser.get(mesh.urls["gateway"] + "/app/?persona=li-wei")
        assert "登录" in home.text and "Log in" in home.text
        assert "login_hint=li-wei" in home.text and "return_to=%2Fapp%2F%3Fpersona%3Dli-wei" in home.text
        sheet = await log_in_from_the_phone(mesh, browser)
        assert sheet.url.path == "/app/" and sheet.url.query == b"persona=li-wei"
        assert (
            'role="dialog"' in sheet.text and "我已阅读并同意" in sheet.text and "I have read and agree" in sheet.text
        )
        assert '<input type="checkbox" name="agree" value="yes" checked required' in sheet.text  # pre-ticked
        assert 'href="/app/fines"' not in sheet.text  # nothing to tap behind the sheet
        grid = await on_the_grid_after(mesh, browser, sheet.text)
        assert "城市服务" in grid.text and "City Services" in grid.text
        for tile in ("交通违法", "婚姻登记", "处方", "电子身份证", "我的数据"):
            assert tile in grid.text
        assert 'href="/app/fines"' in grid.text and 'role="dialog"' not in grid.text
        assert "¥1,000.00" in grid.text  # the wallet, opened at first use


async def on_the_grid_after(mesh, browser, sheet: str) -> httpx.Response:
    agreed = await agree_on_the_sheet(mesh, browser, sheet)
    assert agreed.status_code == 303, agreed.text
    return await browser.get(mesh.urls["gateway"] + agreed.headers["location"])


@PLATFORM_ONLY
async def test_an_unticked_box_is_no_agreement(mesh):
    async with aclosing(a_browser(mesh)) as browser:
        sheet = await log_in_from_the_phone(mesh, browser)
        form = forms(sheet.text)["/app/agreement"]
        del form["agree"]
        refused = await browser.post(mesh.urls["gateway"] + "/app/agreement", data=form, headers=OWN_PAGE)
        assert refused.status_code == 422 and "I have read and agree" in refused.text
        assert (await browser.get(mesh.urls["gateway"] + "/app/fines")).headers["location"] == "/app/"


@PLATFORM_ONLY
async def test_the_fines_page_shows_li_weis_demo_fines_and_the_wallet(mesh):
    async with aclosing(a_browser(mesh)) as browser:
        await on_the_grid(mesh, browser)
        page = await browser.get(mesh.urls["gateway"] + "/app/fines")
        assert page.status_code == 200, page.text
        assert page.text.count(DEMO_PLATE) == 2
        for shown in ("Running a red light", "Tianhe Road / Tiyu West Road", "¥200.00", "Parking in a bus lane"):
            assert shown in page.text
        assert "¥150.00" in page.text and "未缴款" in page.text and "¥1,000.00" in page.text


@PLATFORM_ONLY
async def test_paying_with_the_same_form_twice_charges_once_and_shows_the_receipt(mesh):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as browser:
        await on_the_grid(mesh, browser)
        page = await browser.get(gateway + "/app/fines")
        action, form = next((action, form) for action, form in forms(page.text).items() if "/pay" in action)
        fine_id = int(action.split("/")[3])
        first = await browser.post(gateway + action, data=form, headers=OWN_PAGE)
        again = await browser.post(gateway + action, data=form, headers=OWN_PAGE)  # a double tap
        for sent in (first, again):
            assert sent.status_code == 303, sent.text
            assert sent.headers["location"] == f"/app/fines/{fine_id}/receipt"
        assert len(payment_rows(mesh, fine_id)) == 1
        receipt = await browser.get(gateway + first.headers["location"])
        amount = int(form["amount_cents"])
        assert receipt.status_code == 200, receipt.text
        assert "支付成功" in receipt.text and f"¥{amount // 100}.00" in receipt.text
        assert CAR_OWNER.resident_id in receipt.text  # the payer the traffic police were told
        assert f"¥{(100_000 - amount) // 100:,}.00" in receipt.text  # charged once
        wallet = await browser.get(gateway + "/wallet", headers={"accept": "application/json"})
        assert wallet.json()["balance_cents"] == 100_000 - amount
        assert "已缴款" in (await browser.get(gateway + "/app/fines")).text


@PLATFORM_ONLY
@pytest.mark.parametrize(
    ("change", "headers"),
    [
        ({"form_token": None}, OWN_PAGE),  # no token
        ({"form_token": "forged"}, OWN_PAGE),
        ({}, {"sec-fetch-site": "same-site"}),  # a page on another port of 127.0.0.1, with the token somehow
    ],
    ids=["token-missing", "token-forged", "from-another-origin"],
)
async def test_a_forged_payment_form_is_refused_and_charges_nothing(mesh, change, headers):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as browser:
        await on_the_grid(mesh, browser)
        page = await browser.get(gateway + "/app/fines")
        action, form = next((action, form) for action, form in forms(page.text).items() if "/pay" in action)
        for name, value in change.items():
            form.pop(name) if value is None else form.update({name: value})
        refused = await browser.post(gateway + action, data=form, headers=headers)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert payment_rows(mesh, int(action.split("/")[3])) == []


@PLATFORM_ONLY
async def test_another_sessions_token_does_not_pass(mesh):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as attacker, aclosing(a_browser(mesh)) as victim:
        await on_the_grid(mesh, attacker, by_handle("chen-jun"))
        attackers_page = await attacker.get(gateway + "/app/fines")
        await on_the_grid(mesh, victim)
        action, form = next((a, f) for a, f in forms(attackers_page.text).items() if "/pay" in a)
        refused = await victim.post(gateway + action, data=form, headers=OWN_PAGE)
        assert refused.status_code == 403 and "did not come from your own super-app page" in refused.text


@PLATFORM_ONLY
@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/app/",
        "//evil.example/app/",
        "/app/..//evil.example",
        "/app/../login",
        "/\\evil.example",
        "/app/%2e%2e/me",
        "/me",
        "javascript:alert(1)",
        "/app/\r\nSet-Cookie: x=1",
    ],
)
async def test_a_login_never_returns_off_the_phones_pages(mesh, return_to):
    async with aclosing(a_browser(mesh)) as browser:
        refused = await browser.get(mesh.urls["gateway"] + "/login", params={"return_to": return_to})
        assert_problem(refused, 400, "unsafe-return-to")


@PLATFORM_ONLY
async def test_a_tampered_return_cookie_is_not_followed(mesh):
    """Any page on 127.0.0.1 can set a cookie for the gateway: the callback checks it again."""
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as browser:
        home = await browser.get(gateway + "/app/")
        started = await browser.get(gateway + login_link(home.text))
        name = "citygate_gateway_return_to_platform"
        assert any(c.name.startswith("citygate_gateway") for c in browser.cookies.jar)
        browser.cookies.set(name, "https://evil.example/", domain="127.0.0.1")
        callback = await through_login_pages(
            browser,
            started,
            arrived=lambda url: url.startswith(gateway + "/auth/callback"),
            username=CAR_OWNER.handle,
            password=DEMO_PASSWORD,
        )
        landed = await browser.get(callback)
        assert landed.status_code == 303 and landed.headers["location"] == "/user-agreement"


@PLATFORM_ONLY
@pytest.mark.parametrize("persona", ["<script>alert(1)</script>", "nobody", "li-wei\r\nX: y"])
async def test_a_hostile_persona_is_refused_with_a_page(mesh, persona):
    async with aclosing(a_browser(mesh)) as browser:
        refused = await browser.get(mesh.urls["gateway"] + "/app/", params={"persona": persona})
        assert refused.status_code == 404
        assert "<script>" not in refused.text and "There is no demo persona" in refused.text


@PLATFORM_ONLY
@pytest.mark.parametrize("hint", ["<script>alert(1)</script>", "li-wei\r\nX: y", "li-wei&prompt=none", "x" * 41])
async def test_a_login_hint_is_a_login_name_or_refused(mesh, hint):
    """The hint goes into the identity provider's address: nothing that could add a parameter."""
    async with aclosing(a_browser(mesh)) as browser:
        assert_problem(await browser.get(mesh.urls["gateway"] + "/login", params={"login_hint": hint}), 422)
        started = await browser.get(mesh.urls["gateway"] + "/login", params={"login_hint": "li-wei"})
        assert started.status_code == 302 and "login_hint=li-wei&" in started.headers["location"]


@PLATFORM_ONLY
async def test_values_from_departments_are_escaped(mesh):
    """A fine's wording comes from the traffic police: on the page it is text, never markup."""
    fines = await mesh.running("fines")
    with fines.state.service.database.session() as session:
        fine = session.exec(select(Fine).where(Fine.plate == DEMO_PLATE)).first()
        fine.offence = '<img src=x onerror="alert(1)">'
        session.add(fine)
        session.commit()
    async with aclosing(a_browser(mesh)) as browser:
        await on_the_grid(mesh, browser)
        page = await browser.get(mesh.urls["gateway"] + "/app/fines")
        assert "<img src=x" not in page.text
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page.text


@PLATFORM_ONLY
async def test_the_pages_run_no_inline_script_and_only_the_stage_may_frame_them(mesh):
    gateway_app = mesh.apps["gateway"]
    async with aclosing(a_browser(mesh)) as browser:
        home = await browser.get(mesh.urls["gateway"] + "/app/")
        policy = home.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert "<script>" not in home.text and " on" not in home.text.replace(" one", "")
        gateway_app.state.service.settings.stage_origin = "http://127.0.0.1:8000"
        framed = await browser.get(mesh.urls["gateway"] + "/app/")
        assert "frame-ancestors 'self' http://127.0.0.1:8000" in framed.headers["content-security-policy"]
        assert "x-frame-options" not in framed.headers


@pytest.mark.parametrize("origin", ["http://evil.example/x", "http://127.0.0.1:8000; script-src *", "'none'"])
def test_the_stage_origin_setting_takes_an_origin_only(origin):
    with pytest.raises(ValueError, match="stage origin"):
        Settings(stage_origin=origin)
    assert Settings(stage_origin="http://127.0.0.1:8000/").stage_origin == "http://127.0.0.1:8000"


@RIGHTS_ONLY
async def test_the_rights_regime_has_no_phone_pages(mesh):
    async with aclosing(a_browser(mesh)) as browser:
        for path in ("/app/", "/app/fines", "/app/appointments", "/app/prescriptions", "/app/id-card"):
            assert_problem(await browser.get(mesh.urls["gateway"] + path), 404, "phone-not-offered")
        assert (await browser.get(mesh.urls["gateway"] + "/app/static/phone.css")).status_code == 404


@PLATFORM_ONLY
async def test_my_data_and_every_tile_leads_to_its_page(mesh):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as browser:
        grid = await on_the_grid(mesh, browser)
        for href in ("/app/fines", "/app/appointments", "/app/prescriptions", "/app/id-card", "/app/my-data"):
            assert f'href="{href}"' in grid.text
        await browser.get(gateway + "/app/fines")
        mine = await browser.get(gateway + "/app/my-data")
        assert mine.status_code == 200 and CAR_OWNER.resident_id in mine.text and "fines: 1" in mine.text


@PLATFORM_ONLY
async def test_the_stage_switching_persona_offers_the_other_login(mesh):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as browser:
        await on_the_grid(mesh, browser)
        assert "City Services" in (await browser.get(gateway + "/app/?persona=li-wei")).text
        switched = await browser.get(gateway + "/app/?persona=chen-jun")
        assert "login_hint=chen-jun" in switched.text and "Logged in as" in switched.text
        assert 'href="/app/fines"' not in switched.text
