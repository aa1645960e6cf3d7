"""The rights phone's pages as served (no browser): only pages and scripts, a strict CSP, framed
by the stage at most; and the identity provider's pages framed by the stage only when told."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from tests.fixtures.citizen_web import STAGE_ORIGIN, citizen_web_mesh
from workshop.citizen_app import AppAuthorization
from workshop.citizen_web.app import create_app
from workshop.citizen_web.journeys import JOURNEYS
from workshop.citizen_web.settings import Settings


async def served(settings: Settings, path: str) -> httpx.Response:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.origin) as client:
        return await client.get(path)


def directives(answer: httpx.Response) -> dict[str, str]:
    policy = answer.headers["content-security-policy"]
    return {part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";")}


PAGES = [
    "/",
    "/?persona=li-wei",
    "/callback?code=x&state=y",
    "/journeys/fines",
    "/journeys/fines?persona=li-wei",
    "/journeys/appointments?persona=chen-jun",
    "/journeys/prescriptions",
    "/journeys/id-card",
    "/journeys/my-data",
]


@pytest.mark.parametrize("path", PAGES)
async def test_the_pages_run_no_inline_script_and_talk_only_to_their_services(path):
    answer = await served(Settings(), path)
    assert answer.status_code == 200
    policy = directives(answer)
    assert policy["script-src"] == "script-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["connect-src"].split()[1:] == [
        "'self'",
        "http://127.0.0.1:8200",
        "http://127.0.0.1:8201",
        "http://127.0.0.1:8202",
        "http://127.0.0.1:8203",
        "http://127.0.0.1:8204",
        "http://127.0.0.1:8205",
        "http://127.0.0.1:8206",
    ]
    assert answer.headers["referrer-policy"] == "no-referrer"  # the callback's code goes nowhere
    assert "<script>" not in answer.text and " on" + "click=" not in answer.text


async def test_the_home_page_lists_every_journey_with_the_persona():
    page = (await served(Settings(), "/?persona=li-wei")).text
    for journey in JOURNEYS:
        assert f'href="/journeys/{journey.key}?persona=li-wei"' in page
        assert journey.title in page
    assert "Your city services" in page


@pytest.mark.parametrize("journey", JOURNEYS, ids=lambda j: j.key)
async def test_a_built_journey_runs_its_own_module(journey):
    page = (await served(Settings(), journey.path)).text
    assert f'<script type="module" src="/static/journeys/{journey.key}.js"></script>' in page
    assert "Not built yet" not in page
    assert (await served(Settings(), journey.script)).status_code == 200


@pytest.mark.parametrize("path", ["/journeys/nope", "/journeys/..%2Fhome", "/journeys/fines/x"])
async def test_an_unknown_journey_is_a_problem(path):
    answer = await served(Settings(), path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] in ("urn:citygate:problem:not-found", "about:blank")


@pytest.mark.parametrize("persona", ["x'><b>", "../x", "A" * 60])
async def test_a_persona_that_is_no_handle_is_refused(persona):
    assert (await served(Settings(), f"/journeys/fines?persona={persona}")).status_code == 422


async def test_the_page_names_its_services_escaped():
    settings = Settings(gateway_url="http://127.0.0.1:9600", departments={"fines": 'http://127.0.0.1:9604/"><x'})
    page = (await served(settings, "/")).text
    assert 'data-gateway-url="http://127.0.0.1:9600"' in page
    assert "<x" not in page and "&#34;fines&#34;" in page


async def test_the_stage_may_frame_the_pages_when_named():
    answer = await served(Settings(stage_origin=STAGE_ORIGIN), "/")
    assert directives(answer)["frame-ancestors"] == f"frame-ancestors 'self' {STAGE_ORIGIN}"


@pytest.mark.parametrize(
    "path",
    [
        "/static/session.js",
        "/static/ui.js",
        "/static/journey_page.js",
        "/static/callback.js",
        "/static/signature.js",
        "/static/courier.js",
        "/static/oauth.js",
        "/assets/vendor/jose/index.js",
    ],
)
async def test_the_scripts_are_served_from_this_origin(path):
    answer = await served(Settings(), path)
    assert answer.status_code == 200
    assert "javascript" in answer.headers["content-type"]


async def test_nothing_else_of_the_web_modules_is_served():
    assert (await served(Settings(), "/assets/vendor/jose/../../package.json")).status_code == 404
    assert (await served(Settings(), "/assets/vendor/htmx/htmx.min.js")).status_code == 404


@pytest.mark.parametrize("stage", [False, True], ids=["alone", "on-stage"])
async def test_the_identity_login_page_is_framed_by_the_stage_only_when_named(monkeypatch, tmp_path, stage):
    auth = AppAuthorization.for_service("fines", redirect_uri="http://127.0.0.1:8210/callback")
    async with AsyncExitStack() as stack:
        mesh: Any = await stack.enter_async_context(citizen_web_mesh(monkeypatch, tmp_path, stage=stage))
        identity = await stack.enter_async_context(mesh.client("identity"))
        page = await identity.get(f"/authorize?{auth.query}")
    assert page.status_code == 200 and "name=password" in page.text
    directives = page.headers["content-security-policy"].split("; ")
    assert "script-src 'none'" in directives  # the rest of the policy: tests/system/test_face_security.py
    if stage:
        assert [d for d in directives if d.startswith("frame-ancestors")] == [f"frame-ancestors 'self' {STAGE_ORIGIN}"]
        assert "x-frame-options" not in page.headers
    else:
        assert [d for d in directives if d.startswith("frame-ancestors")] == ["frame-ancestors 'none'"]
        assert page.headers["x-frame-options"] == "DENY"
