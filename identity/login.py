"""The citizen's login at the provider, in the browser: the password (``/login``) and the second
factor (``/login/second-factor``), both counted against guessing (``identity.attempts``).

Both come back to ``/authorize`` (``identity.authorize``) with the relying party's request, which
then asks for what is still missing.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import col, or_, select

from identity import pages
from identity.attempts import (
    accept_one_time_code,
    count_attempts,
    one_time_code_key,
    password_key,
    record_success,
    source_key,
    unknown_name_key,
)
from identity.dependencies import StateDep
from identity.login_session import (
    LOGIN_FORM_COOKIE,
    SESSION_COOKIE,
    back_to_authorize,
    cookie,
    current_session,
    delete_cookie,
    set_cookie,
)
from identity.models import BrowserSession, Citizen
from identity.passwords import hash_password, verify_password
from identity.policy import IdentityPolicy
from identity.settings import Settings
from kernel.browser_sessions import session_id_digest
from kernel.database import Database
from kernel.resident_id import InvalidResidentId, parse_resident_id

router = APIRouter(tags=["openid connect: browser"])
# Longer inputs are cut before anything is done with them (the password before it is hashed).
MAX_LOGIN_NAME_LENGTH = 64
MAX_PASSWORD_LENGTH = 256
MAX_CODE_LENGTH = 16
Result = TypeVar("Result")


def _find_citizen(database: Database, username: str) -> Citizen | None:
    with database.session() as db:
        return db.exec(
            select(Citizen).where(
                or_(
                    col(Citizen.handle) == username,
                    col(Citizen.phone) == username,
                    col(Citizen.resident_id) == username.upper(),
                )
            )
        ).first()


def _login_error(username: str) -> str:
    """A mistyped resident ID is named as such (it reveals nothing: the check is public arithmetic)."""
    if len(username) == 18 and username[:17].isdigit():
        try:
            parse_resident_id(username)
        except InvalidResidentId as error:
            return f"That resident ID cannot be right: {error}"
    return "Wrong name or password."


def _start_session(database: Database, settings: Settings, policy: IdentityPolicy, citizen: Citizen) -> str:
    """A new login session; its id goes into the cookie, only the id's digest into the database."""
    now = datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    session = BrowserSession(
        id=session_id_digest(session_id),
        citizen_id=citizen.id,
        csrf_token=secrets.token_urlsafe(24),
        auth_time=now,
        acr=policy.acr_of(["pwd"]),
        amr="pwd",
        expires_at=now + timedelta(seconds=settings.login_session_ttl_seconds),
    )
    with database.session() as db:
        db.add(session)
        db.commit()
    return session_id


@functools.cache
def _unknown_name_hash() -> str:
    """Checked for a login name nobody has, so that a refusal takes as long (one scrypt) as for
    a wrong password: the answer's timing does not tell which names exist. Made at first use."""
    return hash_password(secrets.token_urlsafe(16))


def _with_session(database: Database, action: Callable[..., Result], *args: object) -> Result:
    with database.session() as db:
        return action(db, *args)


def _locked_message(wait: timedelta) -> str:
    return f"Too many failed attempts: try again in {max(int(wait.total_seconds() // 60) + 1, 1)} minutes."


@router.post("/login", summary="Password login (browser form)", response_class=Response, include_in_schema=False)
async def login(request: Request, state: StateDep) -> Response:
    settings, database = state.settings, state.database
    form = await request.form()
    query = str(form.get("authorization_request", ""))
    expected_nonce = request.cookies.get(cookie(settings, LOGIN_FORM_COOKIE), "")
    if not expected_nonce or not hmac.compare_digest(str(form.get("login_nonce", "")), expected_nonce):
        return back_to_authorize(query)  # a login form we did not serve (login CSRF)
    username = str(form.get("username", "")).strip()[:MAX_LOGIN_NAME_LENGTH]
    citizen = await run_in_threadpool(_find_citizen, database, username)
    password = str(form.get("password", ""))[:MAX_PASSWORD_LENGTH]
    source = source_key(request.client.host if request.client else None)
    account = password_key(citizen.id) if citizen is not None else unknown_name_key(username)
    # Counted before the password is checked (identity/attempts.py); the same answers and the same
    # work whether or not the name exists (a known name and an unknown one lock alike).
    refusal = None
    if wait := await run_in_threadpool(_with_session, database, count_attempts, source, account, datetime.now(UTC)):
        refusal = _locked_message(wait)
    else:
        verified = await run_in_threadpool(
            verify_password, password, citizen.password_hash if citizen is not None else _unknown_name_hash()
        )
        if not verified or citizen is None:
            refusal = _login_error(username)
    if refusal or citizen is None:
        return pages.login_page(
            provider=state.policy.provider_name,
            client_title="the service",
            query=query,
            login_nonce=expected_nonce,
            error=refusal,
            demo_hint=pages.demo_login_hint(settings.demo),
        )
    await run_in_threadpool(_with_session, database, record_success, source, account)
    session_id = await run_in_threadpool(_start_session, database, settings, state.policy, citizen)
    response = back_to_authorize(query)
    set_cookie(response, settings, SESSION_COOKIE, session_id, max_age=settings.login_session_ttl_seconds)
    delete_cookie(response, settings, LOGIN_FORM_COOKIE)
    return response


def _step_up(
    database: Database, policy: IdentityPolicy, session_id: str, code: str, source: str
) -> tuple[Citizen, str] | None:
    """Raise the session to two factors if ``code`` is right; else the citizen and why not."""
    with database.session() as db:
        session = db.get(BrowserSession, session_id)
        assert session is not None  # the caller found it a moment ago; sessions are never deleted
        citizen = db.get(Citizen, session.citizen_id)
        assert citizen is not None
        account = one_time_code_key(citizen.id)
        # counted before the code is checked, as a password is (identity/attempts.py)
        if wait := count_attempts(db, source, account, datetime.now(UTC)):
            return citizen, _locked_message(wait)
        if not accept_one_time_code(db, citizen, code, time.time()):
            return citizen, "That code is not right, has expired or was already used."
        record_success(db, source, account)
        session = db.get(BrowserSession, session_id)
        assert session is not None
        session.amr = "pwd otp"
        session.acr = policy.acr_of(["pwd", "otp"])
        session.auth_time = datetime.now(UTC)
        db.add(session)
        db.commit()
    return None


@router.post(
    "/login/second-factor", summary="Step-up with a one-time code", response_class=Response, include_in_schema=False
)
async def second_factor(request: Request, state: StateDep) -> Response:
    settings = state.settings
    form = await request.form()
    query = str(form.get("authorization_request", ""))
    current = await run_in_threadpool(
        current_session, state.database, request.cookies.get(cookie(settings, SESSION_COOKIE))
    )
    if current is None or not hmac.compare_digest(str(form.get("csrf", "")), current[0].csrf_token):
        return back_to_authorize(query, from_login_subpath=True)
    source = source_key(request.client.host if request.client else None)
    code = str(form.get("code", ""))[:MAX_CODE_LENGTH]
    refused = await run_in_threadpool(_step_up, state.database, state.policy, current[0].id, code, source)
    if refused is not None:
        citizen, reason = refused
        return pages.step_up_page(
            provider=state.policy.provider_name,
            client_title="the service",
            required="a second factor",
            query=query,
            csrf=current[0].csrf_token,
            error=reason,
            demo_hint=pages.demo_code_hint(settings.demo, citizen),
            action="second-factor",
        )
    return back_to_authorize(query, from_login_subpath=True)
