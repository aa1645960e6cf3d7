"""The browser side of the citizen login: /authorize, /login, /login/second-factor.

Each step re-validates the original authorization request with Authlib (so a tampered
hidden field is just another invalid request), then asks for what is missing: a login,
a second factor when the relying party needs more assurance than the session has, and —
in the rights regime — consent to exactly the listed claims.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.errors import OAuth2Error
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import or_
from sqlmodel import select

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
from identity.authorization_code import CitizenPrincipal
from identity.models import BrowserSession, Citizen, _as_utc
from identity.passwords import hash_password, verify_password
from identity.personas import DEMO_PASSWORD, PERSONAS
from identity.profiles import EIDAS_HIGH, UnknownRelyingParty, meets
from identity.resident_id import InvalidResidentId, parse_resident_id
from identity.resources import authorization_resource, subject_client
from identity.token_server import FormOAuth2Request, IdentityServer
from identity.totp import STEP_SECONDS, totp
from kernel import topology
from kernel.browser_sessions import MAX_SESSION_ID_LENGTH, cookie_name, served_over_https, session_id_digest
from kernel.citizens import CITIZEN_APP

router = APIRouter(tags=["openid connect: browser"])
# Longer inputs are cut before anything is done with them (the password before it is hashed).
MAX_LOGIN_NAME_LENGTH = 64
MAX_PASSWORD_LENGTH = 256
MAX_CODE_LENGTH = 16


class UnmetAuthenticationRequirements(OAuth2Error):
    """OpenID Connect: the requested level of assurance cannot be reached here."""

    error = "unmet_authentication_requirements"


def _served_over_https(app: FastAPI) -> bool:
    return served_over_https(app.state.settings.public_url)


def _cookie(app: FastAPI, kind: str) -> str:
    # one per kind and regime, __Host- under HTTPS (kernel.browser_sessions)
    return cookie_name(kind, app.state.settings.regime.value, https=_served_over_https(app))


def _client_title(client_id: str) -> str:
    if client_id == CITIZEN_APP:
        return "your own citygate app"
    try:
        return f"the {topology.service(client_id).title}"
    except KeyError:
        return client_id


def _provider_name(app: FastAPI) -> str:
    return "Platform e-ID" if app.state.settings.regime.value == "platform" else "National eID"


def _session(app: FastAPI, cookie: str | None) -> tuple[BrowserSession, Citizen] | None:
    if not cookie or len(cookie) > MAX_SESSION_ID_LENGTH:
        return None
    with app.state.database.session() as db:
        found = db.get(BrowserSession, session_id_digest(cookie))
        if found is None or _as_utc(found.expires_at) <= datetime.now(UTC):
            return None
        return found, db.get(Citizen, found.citizen_id)


def _set_cookie(response: Response, app: FastAPI, kind: str, value: str, max_age: int) -> None:
    response.set_cookie(
        _cookie(app, kind),
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        path="/",
        secure=_served_over_https(app),
    )


def _back_to_authorize(query: str, *, from_login_subpath: bool = False) -> RedirectResponse:
    # Only ever back to our own endpoint: the query is the relying party's request, re-validated there.
    # Relative, so the provider may sit under a path prefix; from /login/second-factor one level up.
    return RedirectResponse(f"{'../' if from_login_subpath else ''}authorize?{query}", status_code=303)


def _demo_login_hint(app: FastAPI) -> str | None:
    if not app.state.settings.demo:
        return None
    names = ", ".join(f"<code>{p.handle}</code>" for p in PERSONAS)
    return f"Demo personas: {names}. Password: <code>{DEMO_PASSWORD}</code>."


def _demo_code_hint(app: FastAPI, citizen: Citizen) -> str | None:
    if not app.state.settings.demo:
        return None
    # A code works once, so show the first one not yet used (the window accepts the next step).
    step = max(int(time.time()) // STEP_SECONDS, (citizen.totp_last_step or -1) + 1)
    code = totp(bytes.fromhex(citizen.totp_secret), step * STEP_SECONDS)
    return f"Demo: {escape(citizen.name)}'s authenticator shows <code>{code}</code>."


def continue_authorization(app: FastAPI, query: str, cookies: dict[str, str], decision: str | None = None) -> Response:
    server: IdentityServer = app.state.token_server
    settings = app.state.settings
    oauth_request = FormOAuth2Request(
        "GET", f"{settings.public_url}/authorize?{query}", {}, parse_qsl(query, keep_blank_values=True)
    )
    current = _session(app, cookies.get(_cookie(app, "idp")))
    try:
        grant = server.get_consent_grant(oauth_request)
        client_id = oauth_request.client.get_client_id()
        # the citizen's app acts at one service, as the citizen that service's sector knows
        resource = authorization_resource(client_id, oauth_request.payload)
        sector_client = subject_client(client_id, resource)
        required = server.profile.required_acr(
            sector_client, (oauth_request.payload.data.get("acr_values") or "").split()
        )
    except UnknownRelyingParty:
        return server.handle_error_response(
            oauth_request,
            UnmetAuthenticationRequirements("This client has no sector, so no subject can be issued for it."),
        )
    except OAuth2Error as error:
        return server.handle_error_response(oauth_request, error)

    title = _client_title(client_id)
    if current is None:
        nonce = secrets.token_urlsafe(16)
        page = pages.login_page(
            provider=_provider_name(app),
            client_title=title,
            query=query,
            login_nonce=nonce,
            error=None,
            demo_hint=_demo_login_hint(app),
        )
        _set_cookie(page, app, "login", nonce, max_age=900)
        return page
    session, citizen = current
    if not meets(session.acr, required):
        if required == EIDAS_HIGH:
            error = UnmetAuthenticationRequirements(
                "Level high needs a hardware-protected credential.", redirect_uri=oauth_request.payload.redirect_uri
            )
            error.state = oauth_request.payload.state
            return server.handle_error_response(oauth_request, error)
        return pages.step_up_page(
            provider=_provider_name(app),
            client_title=title,
            required=required,
            query=query,
            csrf=session.csrf_token,
            error=None,
            demo_hint=_demo_code_hint(app, citizen),
        )
    if server.profile.asks_consent and decision is None:
        return pages.consent_page(
            provider=_provider_name(app),
            client_title=title,
            sector=server.profile.sector_of(sector_client).value,
            lines=server.profile.consent_lines(sector_client, oauth_request.payload.scope),
            query=query,
            csrf=session.csrf_token,
            acting_at=_client_title(sector_client) if resource else None,
            token_minutes=max(settings.access_token_ttl_seconds // 60, 1),
        )
    principal = None
    if decision != "deny":
        principal = CitizenPrincipal(
            citizen=citizen,
            client_id=client_id,
            subject=server.profile.subject_for(citizen, sector_client),
            acr=session.acr,
            amr=tuple(session.amr.split()),
            auth_time=int(_as_utc(session.auth_time).timestamp()),
            resource=resource,
        )
    return server.create_authorization_response(oauth_request, grant_user=principal, grant=grant)


@router.get("/authorize", summary="OpenID Connect authorization endpoint (browser)", response_class=Response)
async def authorize(request: Request) -> Response:
    return await run_in_threadpool(continue_authorization, request.app, request.url.query, dict(request.cookies))


@router.post("/authorize", summary="The citizen's consent decision", response_class=Response, include_in_schema=False)
async def decide(request: Request) -> Response:
    form = await request.form()
    current = await run_in_threadpool(_session, request.app, request.cookies.get(_cookie(request.app, "idp")))
    query = str(form.get("authorization_request", ""))
    if current is None or not hmac.compare_digest(str(form.get("csrf", "")), current[0].csrf_token):
        return _back_to_authorize(query)  # no valid session: start over at the login page
    decision = "allow" if form.get("decision") == "allow" else "deny"
    return await run_in_threadpool(continue_authorization, request.app, query, dict(request.cookies), decision)


def _find_citizen(app: FastAPI, username: str) -> Citizen | None:
    with app.state.database.session() as db:
        return db.exec(
            select(Citizen).where(
                or_(
                    Citizen.handle == username,
                    Citizen.phone == username,
                    Citizen.resident_id == username.upper(),
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


def _start_session(app: FastAPI, citizen: Citizen) -> str:
    """A new login session; its id goes into the cookie, only the id's digest into the database."""
    now = datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    session = BrowserSession(
        id=session_id_digest(session_id),
        citizen_id=citizen.id,
        csrf_token=secrets.token_urlsafe(24),
        auth_time=now,
        acr=app.state.token_server.profile.acr_of(["pwd"]),
        amr="pwd",
        expires_at=now + timedelta(seconds=app.state.settings.login_session_ttl_seconds),
    )
    with app.state.database.session() as db:
        db.add(session)
        db.commit()
    return session_id


@functools.cache
def _unknown_name_hash() -> str:
    """Checked for a login name nobody has, so that a refusal takes as long (one scrypt) as for
    a wrong password: the answer's timing does not tell which names exist. Made at first use."""
    return hash_password(secrets.token_urlsafe(16))


@router.post("/login", summary="Password login (browser form)", response_class=Response, include_in_schema=False)
async def login(request: Request) -> Response:
    app = request.app
    form = await request.form()
    query = str(form.get("authorization_request", ""))
    expected_nonce = request.cookies.get(_cookie(app, "login"), "")
    if not expected_nonce or not hmac.compare_digest(str(form.get("login_nonce", "")), expected_nonce):
        return _back_to_authorize(query)  # a login form we did not serve (login CSRF)
    username = str(form.get("username", "")).strip()[:MAX_LOGIN_NAME_LENGTH]
    citizen = await run_in_threadpool(_find_citizen, app, username)
    password = str(form.get("password", ""))[:MAX_PASSWORD_LENGTH]
    source = source_key(request.client.host if request.client else None)
    account = password_key(citizen.id) if citizen is not None else unknown_name_key(username)
    # Counted before the password is checked (identity/attempts.py); the same answers and the same
    # work whether or not the name exists (a known name and an unknown one lock alike).
    refusal = None
    if wait := await run_in_threadpool(_with_session, app, count_attempts, source, account, datetime.now(UTC)):
        refusal = _locked_message(wait)
    else:
        verified = await run_in_threadpool(
            verify_password, password, citizen.password_hash if citizen is not None else _unknown_name_hash()
        )
        if not verified or citizen is None:
            refusal = _login_error(username)
    if refusal:
        return pages.login_page(
            provider=_provider_name(app),
            client_title="the service",
            query=query,
            login_nonce=expected_nonce,
            error=refusal,
            demo_hint=_demo_login_hint(app),
        )
    await run_in_threadpool(_with_session, app, record_success, source, account)
    session_id = await run_in_threadpool(_start_session, app, citizen)
    response = _back_to_authorize(query)
    _set_cookie(response, app, "idp", session_id, max_age=app.state.settings.login_session_ttl_seconds)
    response.delete_cookie(
        _cookie(app, "login"), path="/", secure=_served_over_https(app), httponly=True, samesite="lax"
    )
    return response


def _with_session(app: FastAPI, action, *args):
    with app.state.database.session() as db:
        return action(db, *args)


def _locked_message(wait: timedelta) -> str:
    return f"Too many failed attempts: try again in {max(int(wait.total_seconds() // 60) + 1, 1)} minutes."


def _step_up(app: FastAPI, session_id: str, code: str, source: str) -> tuple[Citizen, str] | None:
    """Raise the session to two factors if ``code`` is right; else the citizen and why not."""
    with app.state.database.session() as db:
        session = db.get(BrowserSession, session_id)
        citizen = db.get(Citizen, session.citizen_id)
        account = one_time_code_key(citizen.id)
        # counted before the code is checked, as a password is (identity/attempts.py)
        if wait := count_attempts(db, source, account, datetime.now(UTC)):
            return citizen, _locked_message(wait)
        if not accept_one_time_code(db, citizen, code, time.time()):
            return citizen, "That code is not right, has expired or was already used."
        record_success(db, source, account)
        session = db.get(BrowserSession, session_id)
        session.amr = "pwd otp"
        session.acr = app.state.token_server.profile.acr_of(["pwd", "otp"])
        session.auth_time = datetime.now(UTC)
        db.add(session)
        db.commit()
    return None


@router.post(
    "/login/second-factor", summary="Step-up with a one-time code", response_class=Response, include_in_schema=False
)
async def second_factor(request: Request) -> Response:
    app = request.app
    form = await request.form()
    query = str(form.get("authorization_request", ""))
    current = await run_in_threadpool(_session, app, request.cookies.get(_cookie(app, "idp")))
    if current is None or not hmac.compare_digest(str(form.get("csrf", "")), current[0].csrf_token):
        return _back_to_authorize(query, from_login_subpath=True)
    source = source_key(request.client.host if request.client else None)
    refused = await run_in_threadpool(_step_up, app, current[0].id, str(form.get("code", ""))[:MAX_CODE_LENGTH], source)
    if refused is not None:
        citizen, reason = refused
        return pages.step_up_page(
            provider=_provider_name(app),
            client_title="the service",
            required="a second factor",
            query=query,
            csrf=current[0].csrf_token,
            error=reason,
            demo_hint=_demo_code_hint(app, citizen),
            action="second-factor",
        )
    return _back_to_authorize(query, from_login_subpath=True)
