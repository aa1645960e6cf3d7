"""The phone's pages (``/app/``): thin routes; what they show is ``views``', how ``rendering``'s.

State-changing forms carry the page's anti-forgery token (``forms``) and, like every request with the
session cookie, must come from the gateway's own origin (``LoggedInSession``'s check). Not part of the
API's description (``include_in_schema=False``): these are pages for a browser.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from kernel.bounds import RowId, ShortText
from kernel.dependencies import NowDep, SessionDep
from superapp_gateway.auth import CurrentSession, LoggedInSession
from superapp_gateway.dependencies import HistoryDep, StateDep
from superapp_gateway.pages import appointments, id_card, prescriptions, views
from superapp_gateway.pages.forms import read_form, token_for
from superapp_gateway.pages.rendering import HOME, PageRoute, page, see_other
from superapp_gateway.sessions import current_session, presented_session_id

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False, tags=["phone pages"])


async def _form(request: Request, state: StateDep) -> dict[str, Any]:
    return dict(await read_form(request, state.settings))


def _see(path: str, state: StateDep) -> Response:
    return see_other(state.settings, path)


@router.get("/")
async def home(
    request: Request, state: StateDep, db: SessionDep, now: NowDep, persona: ShortText | None = None
) -> Response:
    chosen = views.persona_of(persona)
    citizen = await run_in_threadpool(current_session, db, presented_session_id(request, state.settings), now)
    shown = await run_in_threadpool(views.home, state, db, citizen, chosen, now)
    token = token_for(request, state.settings) if shown["citizen"] else None
    return page(state.settings, "home.html", shown | {"form_token": token})


@router.post("/agreement")
async def agree(request: Request, state: StateDep, db: SessionDep, now: NowDep, citizen: LoggedInSession) -> Response:
    form = await _form(request, state)
    await run_in_threadpool(views.agree, state, db, citizen, form, now)
    return _see(HOME, state)


@router.get("/fines")
async def fines(
    request: Request, state: StateDep, db: SessionDep, now: NowDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    shown = await views.fines(state, db, citizen, history, now)
    return page(state.settings, "fines.html", shown | {"form_token": token_for(request, state.settings)})


@router.post("/fines/{fine_id}/pay")
async def pay(
    fine_id: RowId, request: Request, state: StateDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    form = await _form(request, state)
    await views.pay_fine(state, citizen, history, fine_id, form)
    return _see(f"/app/fines/{fine_id}/receipt", state)


@router.get("/fines/{fine_id}/receipt")
async def receipt(
    fine_id: RowId, state: StateDep, db: SessionDep, now: NowDep, citizen: CurrentSession, history: HistoryDep
) -> Response:
    return page(state.settings, "receipt.html", await views.receipt(state, db, citizen, history, fine_id, now))


@router.get("/my-data")
async def my_data(state: StateDep, citizen: CurrentSession, history: HistoryDep) -> Response:
    return page(state.settings, "my_data.html", await views.my_data(state, citizen, history))


# each journey's pages, in a module of its own
for journey_pages in (appointments.router, prescriptions.router, id_card.router):
    router.include_router(journey_pages)
