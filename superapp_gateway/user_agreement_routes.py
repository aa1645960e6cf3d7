"""The user agreement's pages and API (the regime's sign-up: superapp_gateway/user_agreement.py)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kernel.dependencies import NowDep, SessionDep
from kernel.problems import InvalidRequest, problem_responses
from superapp_gateway.auth import LOGGED_IN_PROBLEMS, LoggedInSession
from superapp_gateway.dependencies import PolicyDep, SettingsDep
from superapp_gateway.errors import AgreementVersionMismatch, NoBlanketConsent
from superapp_gateway.sessions import current_session, presented_session_id
from superapp_gateway.user_agreement import AFTER_LOGIN_PATH, AGREEMENT_PATH, AgreementAcceptance, AgreementPublic

router = APIRouter(tags=["sign-up"])


def _wants_html(request: Request) -> bool:
    """A page unless JSON is asked for by name (browsers send text/html, plain clients */*)."""
    return "application/json" not in request.headers.get("accept", "")


@router.get(
    AGREEMENT_PATH,
    summary="The super-app's user agreement (platform: the one consent asked at sign-up)",
    responses={200: {"content": {"text/html": {}}}},
    response_model=AgreementPublic,
)
async def show_agreement(
    request: Request, settings: SettingsDep, policy: PolicyDep, session: SessionDep, now: NowDep
) -> Response | AgreementPublic:
    citizen = await run_in_threadpool(current_session, session, presented_session_id(request, settings), now)
    shown = await run_in_threadpool(policy.sign_up.agreement, session, citizen.subject if citizen else None)
    return _page(shown) if _wants_html(request) else shown


@router.post(
    AGREEMENT_PATH,
    summary="Agree to the user agreement (platform)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": AgreementAcceptance.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": AgreementAcceptance.model_json_schema()},
            },
        }
    },
    response_model=AgreementPublic,
    responses={
        **problem_responses(*LOGGED_IN_PROBLEMS, InvalidRequest, AgreementVersionMismatch, NoBlanketConsent),
        303: {"description": "a browser's form post: on to /me"},
    },
)
async def agree(
    request: Request, citizen: LoggedInSession, policy: PolicyDep, session: SessionDep, now: NowDep
) -> Response | AgreementPublic:
    form_post = not request.headers.get("content-type", "").startswith("application/json")
    try:
        given = dict(await request.form()) if form_post else await request.json()
        body = AgreementAcceptance.model_validate(given)
    except (ValueError, ValidationError) as error:
        raise InvalidRequest('Send the version you agree to: {"version": "…"} (or the page\'s form).') from error
    accepted = await run_in_threadpool(policy.sign_up.accept, session, citizen.subject, body.version, now)
    return RedirectResponse(AFTER_LOGIN_PATH, status_code=303) if form_post else accepted


def _page(shown: AgreementPublic) -> Response:
    clauses = "".join(f"<li>{escape(clause)}</li>" for clause in shown.clauses)
    action = (
        ""
        if shown.version is None or shown.accepted_at
        else f"<form method=post action='{AGREEMENT_PATH}'><input type=hidden name='version' "
        f"value='{escape(shown.version, quote=True)}'><button>Agree and continue</button></form>"
    )
    title = "User agreement" if shown.version else "No blanket consent"
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>User agreement</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style></head><body>"
        f"<h1>{title}</h1><ol>{clauses}</ol>{action}</body></html>",
        headers={"Cache-Control": "no-store"},
    )
