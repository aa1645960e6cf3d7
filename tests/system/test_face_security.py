"""A sweep of the face's pages: every page of the platform phone (``/app/``), the citizen's own app,
the stage and the identity provider's login and consent pages, as a browser gets them.

How would I attack a page shown on a wall inside a frame? Inject a string that runs as script (so:
a CSP with no inline or evaluated script, and no inline script or handler a nonce-less policy would
have to allow), frame the login page from elsewhere and overlay it (so: ``frame-ancestors`` is
``'none'``, or the stage's origin when one is configured), have a response sniffed into HTML (so:
``nosniff``), or read or ride the session (so: cookies HttpOnly, SameSite, path-scoped, host-only).

The pages are enumerated from the apps' own routes, so a page added later is swept too (a new path
parameter needs a sample value here: the sweep says which).
"""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from kernel.personas import DEMO_PASSWORD
from kernel.regime import Regime
from tests.fixtures.citizen_web import CITIZEN_WEB_ORIGIN, STAGE_ORIGIN, citizen_web_mesh
from tests.fixtures.logins import CAR_OWNER
from tests.fixtures.mesh import Mesh
from tests.fixtures.oidc_rp import hidden_fields
from tests.fixtures.page_security import (
    Answer,
    cookie_problems,
    filled,
    html_routes,
    page_problems,
    record_answers,
    set_cookies,
)
from tests.fixtures.phone_pages import agree_on_the_sheet, forms, log_in_from_the_phone
from workshop.citizen_app import AppAuthorization, sign_in
from workshop.citizen_web.journeys import JOURNEYS
from workshop.stage.app import create_app as create_stage
from workshop.web_apps import CITIZEN_WEB, STAGE

PHONE_PAGES = "/app/"
JOURNEY_KEYS = [journey.key for journey in JOURNEYS]
FRAMED = pytest.mark.parametrize("stage_origin", [None, STAGE_ORIGIN], ids=["unframed", "framed-by-the-stage"])


def html_answers(answers: list[Answer], base_url: str) -> list[Answer]:
    host = urlsplit(base_url).netloc
    return [answer for answer in answers if answer.is_html and urlsplit(answer.url).netloc == host]


def assert_pages_are_safe(pages: list[Answer], stage_origin: str | None, *, shown_under: str = "/") -> None:
    """``shown_under``: the paths of the pages a phone's frame on the stage shows."""
    assert pages, "no page was swept"
    problems = [
        problem
        for page in pages
        for problem in page_problems(
            page, stage_origin, shown_on_the_stage=urlsplit(page.url).path.startswith(shown_under)
        )
    ]
    assert not problems, "\n".join(problems)


def assert_every_route_was_a_page(routes: list[str], pages: list[Answer], samples: dict[str, str]) -> None:
    """Each enumerated route answered with a page (HTML) at least once: its own, or its HTML error page
    where the sample names nothing the persona has (a booking, a prescription), swept the same way."""
    shown = {urlsplit(page.url).path for page in pages if page.is_html}
    assert {filled(route, samples) for route in routes} <= shown, f"routes shown: {sorted(shown)}"


# --- the platform phone (/app/ in the gateway) and the identity provider's pages it goes through ---------


@FRAMED
async def test_every_page_of_the_platform_phone_and_its_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage_origin: str | None
) -> None:
    if stage_origin:
        for service in ("GATEWAY", "IDENTITY"):
            monkeypatch.setenv(f"CITYGATE_{service}_STAGE_ORIGIN", stage_origin)
    async with Mesh(Regime.PLATFORM, tmp_path) as mesh:
        answers = record_answers(mesh.transport, monkeypatch)
        gateway = mesh.urls["gateway"]
        routes = html_routes(mesh.apps["gateway"], prefix=PHONE_PAGES)
        assert f"{PHONE_PAGES}fines" in routes and f"{PHONE_PAGES}my-data" in routes, routes
        async with aclosing(httpx.AsyncClient(transport=mesh.transport)) as browser:
            samples = {"service": "id-card", "fine_id": "1", "booking_id": "1", "prescription_id": "1"}
            for route in routes:  # before the login: each page as a stranger opens it
                await browser.get(gateway + filled(route, samples))
            landed = await log_in_from_the_phone(mesh, browser)
            if "/app/agreement" in forms(landed.text):  # the half-screen sheet, on the first login
                await agree_on_the_sheet(mesh, browser, landed.text)
            fines = (await browser.get(gateway + "/city-services/fines")).json()
            assert isinstance(fines, list) and fines, fines
            unpaid = next(fine for fine in fines if fine["status"] == "unpaid")
            paid = await browser.post(  # so that its receipt is a page
                gateway + "/wallet/payments",
                headers={"Idempotency-Key": "face-security"},
                json={"payee": "fines", "reference": str(unpaid["id"]), "amount_cents": unpaid["amount_cents"]},
            )
            assert paid.status_code == 201, paid.text
            samples["fine_id"] = str(unpaid["id"])
            for route in routes:  # logged in: each page with the citizen's data on it
                await browser.get(gateway + filled(route, samples))

    assert_every_route_was_a_page([r for r in routes if r.startswith(PHONE_PAGES)], answers, samples)
    assert_pages_are_safe(html_answers(answers, gateway), stage_origin, shown_under=PHONE_PAGES)
    login_pages = html_answers(answers, mesh.urls["identity"])
    assert any("password" in page.text for page in login_pages), "the login page was swept"
    assert_pages_are_safe(login_pages, stage_origin)
    assert set_cookies(answers), "the login and the pages set cookies"
    assert not cookie_problems(answers), "\n".join(cookie_problems(answers))


# --- the citizen's own app, its login at the identity provider and the super-app's return to it -------


@FRAMED
async def test_every_page_of_the_citizen_web_app_and_its_logins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage_origin: str | None
) -> None:
    settings = CITIZEN_WEB.settings_class()(stage_origin=stage_origin)
    app = CITIZEN_WEB.build_app(settings)
    routes = html_routes(app)
    assert {"/", "/callback"} <= set(routes), routes
    transport = httpx.ASGITransport(app=app)
    web_answers = record_answers(transport, monkeypatch)
    async with httpx.AsyncClient(transport=transport, base_url=CITIZEN_WEB_ORIGIN) as browser:
        for key in JOURNEY_KEYS:
            for route in routes:
                await browser.get(filled(route, {"key": key}), params={"persona": CAR_OWNER.handle})
    assert_every_route_was_a_page(routes, web_answers, {"key": JOURNEY_KEYS[-1]})
    assert_pages_are_safe(html_answers(web_answers, CITIZEN_WEB_ORIGIN), stage_origin)
    assert not set_cookies(web_answers), "the citizen's app keeps its state in the browser, not in cookies"

    async with citizen_web_mesh(monkeypatch, tmp_path, stage=stage_origin is not None) as mesh:
        answers = record_answers(mesh.transport, monkeypatch)
        # the app's own login: the identity provider's pages, back to the app's /callback (code + PKCE)
        auth = AppAuthorization.for_service("fines", redirect_uri=f"{CITIZEN_WEB_ORIGIN}/callback")
        async with mesh.client("identity") as identity:
            await sign_in(identity, auth, username=CAR_OWNER.handle, password=DEMO_PASSWORD)
        # the super-app session the app relays through: the gateway's login, back to the app
        await log_in_to_the_gateway_returning_to(mesh, f"{CITIZEN_WEB_ORIGIN}/?persona={CAR_OWNER.handle}")

    login_pages = html_answers(answers, mesh.urls["identity"])
    assert any("password" in page.text for page in login_pages), "the login page was swept"
    assert_pages_are_safe(login_pages, STAGE_ORIGIN if stage_origin else None)
    assert set_cookies(answers), "the logins set cookies"
    assert not cookie_problems(answers), "\n".join(cookie_problems(answers))


async def log_in_to_the_gateway_returning_to(mesh: Mesh, return_to: str) -> None:
    gateway, callback = mesh.urls["gateway"], mesh.urls["gateway"] + "/auth/callback"
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        answer = await browser.get(gateway + "/login", params={"return_to": return_to})
        for _ in range(8):
            if answer.is_redirect:
                location = urljoin(str(answer.url), answer.headers["location"])
                answer = await browser.get(location)
                if location.startswith(callback):
                    assert answer.headers["location"] == return_to, answer.text
                    return
            elif "name=password" in answer.text:
                fields = hidden_fields(answer.text) | {"username": CAR_OWNER.handle, "password": DEMO_PASSWORD}
                answer = await browser.post(mesh.urls["identity"] + "/login", data=fields)
            else:  # the consent page
                fields = hidden_fields(answer.text) | {"decision": "allow"}
                answer = await browser.post(mesh.urls["identity"] + "/authorize", data=fields)
    raise AssertionError(f"the login did not come back: {answer.status_code} {answer.text[:300]}")


# --- the stage: never framed by anyone ----------------------------------------------------------------


async def test_every_page_of_the_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # with the rights regime's services in-process: the ledger pages read the consent service
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh:
        app = create_stage(STAGE.settings_class()(data_dir=tmp_path), transport=mesh.transport)
        routes = html_routes(app)
        assert "/" in routes, routes
        transport = httpx.ASGITransport(app=app)
        answers = record_answers(transport, monkeypatch)
        stage = STAGE.url()
        async with httpx.AsyncClient(transport=transport, base_url=stage) as browser:
            for regime in Regime:
                for route in routes:
                    await browser.get(filled(route, {"regime": regime.value}), params={"persona": CAR_OWNER.handle})
    # the tamper demo needs a logged entry to change: on this empty ledger it answers with a problem, not a
    # page (its page is shown by tests/workshop/stage/test_stage_ledger_inspector.py; its headers are the
    # stage's middleware's, the same as every page swept here)
    shown_without_entries = [route for route in routes if route != "/ledger/tamper"]
    assert_every_route_was_a_page(shown_without_entries, answers, {"regime": Regime.RIGHTS.value})
    assert_pages_are_safe(html_answers(answers, stage), stage_origin=None)
    assert not cookie_problems(answers)


# --- the sweep itself sees an attack -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "html", "expected"),
    [
        ("script-src 'self'; frame-ancestors 'none'", "<p>ok</p><script src=/s.js></script>", None),
        ("script-src 'self'; frame-ancestors 'none'", "<script>alert(1)</script>", "inline <script>"),
        ("script-src 'self'; frame-ancestors 'none'", "<img src=x onerror=alert(1)>", "inline event handler"),
        ("script-src 'self'; frame-ancestors 'none'", "<a href='JavaScript:alert(1)'>x</a>", "javascript: URL"),
        ("script-src 'self' 'unsafe-inline'; frame-ancestors 'none'", "<p>ok</p>", "script-src allows"),
        ("default-src 'self' 'unsafe-eval'; frame-ancestors 'none'", "<p>ok</p>", "script-src allows"),
        ("frame-ancestors 'none'", "<p>ok</p>", "restricts no script source"),
        ("script-src 'self'; frame-ancestors *", "<p>ok</p>", "frame-ancestors"),
        ("script-src 'self'", "<p>ok</p>", "frame-ancestors"),
    ],
)
def test_the_sweep_sees_what_an_attacker_would_use(policy: str, html: str, expected: str | None) -> None:
    headers = httpx.Headers(
        {"content-type": "text/html", "content-security-policy": policy, "x-content-type-options": "nosniff"}
    )
    problems = page_problems(Answer("GET", "http://127.0.0.1:8100/app/", 200, headers, html), None)
    assert (problems == []) if expected is None else any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        ("s=v; HttpOnly; Path=/; SameSite=lax", None),
        ("s=v; Path=/; SameSite=lax", "HttpOnly"),
        ("s=v; HttpOnly; Path=/", "SameSite"),
        ("s=v; HttpOnly; Path=/; SameSite=none; Secure", "SameSite"),
        ("s=v; HttpOnly; SameSite=strict", "no Path"),
        ("s=v; HttpOnly; Path=/; SameSite=lax; Domain=127.0.0.1", "Domain"),
    ],
)
def test_the_sweep_sees_a_cookie_left_open(cookie: str, expected: str | None) -> None:
    answer = Answer("GET", "http://127.0.0.1:8100/login", 303, httpx.Headers([("set-cookie", cookie)]), "")
    problems = cookie_problems([answer])
    assert (problems == []) if expected is None else any(expected in problem for problem in problems), problems
