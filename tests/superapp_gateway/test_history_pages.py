"""``/me/history`` answers a bounded page, oldest first, with the next page named in its ``Link`` header
(RFC 8288): what one request costs does not grow with what the platform keeps of a citizen (issue 17)."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from kernel.bounds import MAX_PAGE_SIZE
from kernel.regime import Regime
from kernel.state import ServiceState, state_of
from superapp_gateway.models import CitizenSession, JourneyEvent
from tests.fixtures.logins import super_app
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.mesh import Mesh

pytestmark = BOTH_BACKENDS

KEPT = 2 * MAX_PAGE_SIZE + 5
SOMEONE_ELSE = "someone else"


def keep_events(mesh: Mesh, count: int) -> None:
    """``count`` events of the logged-in persona's (the subject of their session), each followed by one
    of someone else's, as the gateway keeps them."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with state_of(mesh.apps["gateway"], ServiceState).database.session() as session:
        (persona,) = set(session.exec(select(CitizenSession.subject)).all())
        for n in range(count):
            for subject in (persona, SOMEONE_ELSE):
                at = start + timedelta(minutes=n)
                session.add(JourneyEvent(subject=subject, journey="fines", event=f"step {n}", details="{}", at=at))
        session.commit()


async def all_pages(browser: httpx.AsyncClient, first: str) -> tuple[list[dict], list[int]]:
    events: list[dict] = []
    sizes: list[int] = []
    url: str | None = first
    while url is not None:
        answer = await browser.get(url)
        assert answer.status_code == 200, answer.text
        events += answer.json()
        sizes.append(len(answer.json()))
        url = answer.links.get("next", {}).get("url")
    return events, sizes


@pytest.mark.regimes(Regime.PLATFORM)
async def test_the_history_comes_a_bounded_page_at_a_time_and_every_event_once(mesh):
    async with aclosing(await super_app(mesh)) as browser:
        keep_events(mesh, KEPT)
        events, sizes = await all_pages(browser, "/me/history")
        assert sizes == [MAX_PAGE_SIZE, MAX_PAGE_SIZE, KEPT - 2 * MAX_PAGE_SIZE]
        assert [event["event"] for event in events] == [f"step {n}" for n in range(KEPT)]
        assert [event["id"] for event in events] == sorted({event["id"] for event in events})

        small, small_sizes = await all_pages(browser, "/me/history?limit=7")
        assert small == events and set(small_sizes[:-1]) == {7} and small_sizes[-1] <= 7

        middle = events[KEPT // 2]["id"]
        after_middle = (await browser.get(f"/me/history?after={middle}&limit=3")).json()
        assert after_middle == events[KEPT // 2 + 1 : KEPT // 2 + 4]


@pytest.mark.regimes(Regime.PLATFORM)
@pytest.mark.parametrize(
    "query", ["limit=0", f"limit={MAX_PAGE_SIZE + 1}", "after=0", "after=-1", "after=99999999999", "limit=x"]
)
async def test_a_page_out_of_bounds_is_refused(mesh, query):
    async with aclosing(await super_app(mesh)) as browser:
        answer = await browser.get(f"/me/history?{query}")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.regimes(Regime.RIGHTS)
async def test_the_rights_regime_keeps_no_history_to_page(mesh):
    async with aclosing(await super_app(mesh)) as browser:
        keep_events(mesh, 3)  # rows written behind the gateway's back are still not its history to show
        answer = await browser.get("/me/history")
    assert (answer.status_code, answer.json(), answer.links) == (200, [], {})
