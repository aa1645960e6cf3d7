"""The stage's "Reset demo" button: the demo personas' state as seeded again in the running services
(``workshop.reset.reset_demo``), and only from the stage's own page: its Origin and the page's token,
double-submitted in a cookie and the form, or nothing is reset."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.fixtures.demo_journeys import pay_a_fine
from tests.fixtures.matrix import BOTH_REGIMES, PLATFORM_ONLY, SQLITE_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.stage import stage_client
from workshop.reset import resettable
from workshop.stage.csrf import TOKEN_COOKIE

pytestmark = [BOTH_REGIMES, SQLITE_ONLY, pytest.mark.started("all")]

STAGE_ORIGIN = "http://127.0.0.1:8000"


async def page_token(client: httpx.AsyncClient, path: str = "/report") -> str:
    page = await client.get(path)
    found = re.search(r'<input type="hidden" name="token" value="([^"]+)">', page.text)
    assert found, page.text
    return found.group(1)


def undone(html: str, service: str) -> str:
    found = re.search(rf'<tr data-service="[a-z]+/{service}">.*?<td>([^<]*)</td></tr>', html, re.S)
    assert found, html
    return found.group(1)


async def test_the_reset_button_restores_the_demo_state(mesh: Mesh, tmp_path: Path) -> None:
    await pay_a_fine(mesh)
    async with stage_client(tmp_path, transport=mesh.transport) as client:
        token = await page_token(client, "/")  # the stage itself carries the button too
        done = await client.post(
            "/reset", data={"token": token, "regime": mesh.regime.value}, headers={"Origin": STAGE_ORIGIN}
        )
        again = await client.post(
            "/reset",
            data={"token": await page_token(client), "regime": mesh.regime.value},
            headers={"Origin": STAGE_ORIGIN},
        )
    assert done.status_code == 200, done.text
    for service in resettable(mesh.regime):
        assert f'<tr data-service="{mesh.regime.value}/{service}">' in done.text
    assert "1 payments removed" in undone(done.text, "fines")  # Li Wei's payment, undone
    assert "1 payments removed" not in undone(again.text, "fines")  # the second time round: as seeded already


async def test_the_token_cookie_is_scoped_to_the_reset(tmp_path: Path) -> None:
    async with stage_client(tmp_path) as client:
        page = await client.get("/ledger/tamper", params={"entry": 0})  # a fragment: no form, no cookie
        assert TOKEN_COOKIE not in page.headers.get("set-cookie", "")
        page = await client.get("/breach")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/reset" in cookie


@PLATFORM_ONLY  # the check comes before any service is called: one regime shows it
@pytest.mark.parametrize(
    ("origin", "form_token", "cookie_token"),
    [
        (None, "page", "page"),  # no Origin: not a browser's form from the stage
        ("http://127.0.0.1:8210", "page", "page"),  # the citizen's app: same site, other origin
        ("http://evil.example", "page", "page"),
        (STAGE_ORIGIN, "", "page"),  # no token in the form
        (STAGE_ORIGIN, "page", None),  # no cookie
        (STAGE_ORIGIN, "forged", "page"),  # a token that is not the page's
        (STAGE_ORIGIN, "planted", "planted"),  # cookie planted by a same-site page, but ... see below
    ],
    ids=["no-origin", "sibling-origin", "foreign-origin", "no-form-token", "no-cookie", "forged", "planted"],
)
async def test_a_reset_from_anywhere_but_the_stages_page_is_refused(
    mesh: Mesh, tmp_path: Path, origin: str | None, form_token: str, cookie_token: str | None
) -> None:
    await pay_a_fine(mesh)
    async with stage_client(tmp_path, transport=mesh.transport) as client:
        token = await page_token(client)
        client.cookies.clear()
        if cookie_token is not None:
            client.cookies.set(TOKEN_COOKIE, token if cookie_token == "page" else cookie_token, path="/reset")
        headers = {"Origin": origin} if origin else {}
        sent = {"page": token, "forged": "x" * 43, "": "", "planted": "planted"}[form_token]
        refused = await client.post("/reset", data={"token": sent, "regime": mesh.regime.value}, headers=headers)
        if form_token == "planted":
            # a planted cookie and matching field pass the double submit: only the Origin check stops a
            # page on another port; with the stage's Origin, it is the stage's page (or curl) asking
            assert refused.status_code == 200
            return
        assert_problem(refused, 403, "reset-not-from-the-stage")
        # nothing was reset: the proper reset afterwards still finds Li Wei's payment to undo
        done = await client.post(
            "/reset",
            data={"token": await page_token(client), "regime": mesh.regime.value},
            headers={"Origin": STAGE_ORIGIN},
        )
    assert "1 payments removed" in undone(done.text, "fines")


async def test_a_service_that_does_not_answer_is_a_problem_that_names_it(mesh: Mesh, tmp_path: Path) -> None:
    first = resettable(mesh.regime)[0]
    mesh.stop(first)
    async with stage_client(tmp_path, transport=mesh.transport) as client:
        response = await client.post(
            "/reset",
            data={"token": await page_token(client), "regime": mesh.regime.value},
            headers={"Origin": STAGE_ORIGIN},
        )
    body = assert_problem(response, 502, "reset-failed")
    assert f"{mesh.regime.value} {first} does not answer" in body["detail"]


async def test_an_unknown_regime_is_refused(mesh: Mesh, tmp_path: Path) -> None:
    async with stage_client(tmp_path, transport=mesh.transport) as client:
        response = await client.post(
            "/reset", data={"token": await page_token(client), "regime": "all"}, headers={"Origin": STAGE_ORIGIN}
        )
    assert_problem(response, 422, "invalid-request")


async def test_the_stage_lets_its_own_form_posts_carry_its_origin(tmp_path: Path) -> None:
    # with "no-referrer" a browser sends "Origin: null" on the stage's own form POST, and the reset,
    # which requires the stage's Origin, could never be pressed
    async with stage_client(tmp_path) as client:
        page = await client.get("/report")
    assert page.headers["referrer-policy"] == "same-origin"
