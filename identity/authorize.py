"""The authorization endpoint, in the browser: ``/authorize`` (the request, and the consent decision).

Each step re-validates the original authorization request with Authlib (so a tampered hidden
field is just another invalid request), then asks for what is missing: a login
(``identity.login``), a second factor when the relying party needs more assurance than the session
has, and — where the regime's policy asks for it — consent to exactly the listed claims.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.errors import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from identity import pages
from identity.authorization_code import CitizenPrincipal
from identity.dependencies import IdentityState, StateDep
from identity.login_session import (
    LOGIN_FORM_COOKIE,
    SESSION_COOKIE,
    back_to_authorize,
    cookie,
    current_session,
    set_cookie,
)
from identity.models import Citizen, _as_utc
from identity.policy import EIDAS_HIGH, UnknownRelyingParty, meets, sector_of
from identity.resources import authorization_resource, subject_client
from identity.token_server import FormOAuth2Request

router = APIRouter(tags=["openid connect: browser"])
LOGIN_FORM_SECONDS = 900
MAX_LOGIN_HINT = 100  # a handle, a phone number or a resident ID


class UnmetAuthenticationRequirements(OAuth2Error):
    """OpenID Connect: the requested level of assurance cannot be reached here."""

    error = "unmet_authentication_requirements"


def continue_authorization(
    state: IdentityState, query: str, cookies: dict[str, str], decision: str | None = None
) -> Response:
    """The next step of the authorization request ``query``: a page, or the answer to the relying party."""
    server, policy, settings = state.server, state.policy, state.settings
    oauth_request = FormOAuth2Request(
        "GET", f"{settings.issuer}/authorize?{query}", {}, parse_qsl(query, keep_blank_values=True)
    )
    current = current_session(state.database, cookies.get(cookie(settings, SESSION_COOKIE)))
    try:
        grant = server.get_consent_grant(oauth_request)
        client_id = oauth_request.client.get_client_id()
        # the citizen's app acts at one service, as the citizen that service's sector knows
        resource = authorization_resource(client_id, oauth_request.payload)
        sector_client = subject_client(client_id, resource)
        required = policy.required_acr(sector_client, (oauth_request.payload.data.get("acr_values") or "").split())
    except UnknownRelyingParty:
        return server.handle_error_response(
            oauth_request,
            UnmetAuthenticationRequirements("This client has no sector, so no subject can be issued for it."),
        )
    except OAuth2Error as error:
        return server.handle_error_response(oauth_request, error)

    provider, title = policy.provider_name, pages.client_title(client_id)
    hint = login_hint(oauth_request.payload.data.get("login_hint"))
    if current is not None and hint and not names(hint, current[1]):
        # the relying party asks for someone else than this browser's session (a shared phone, the
        # workshop's stage switching persona): who is there logs in, never the previous person
        current = None
    if current is None:
        nonce = secrets.token_urlsafe(16)
        page = pages.login_page(
            provider=provider,
            client_title=title,
            query=query,
            login_nonce=nonce,
            error=None,
            demo_hint=pages.demo_login_hint(settings.demo),
            username=hint,
        )
        set_cookie(page, settings, LOGIN_FORM_COOKIE, nonce, max_age=LOGIN_FORM_SECONDS)
        return page
    session, citizen = current
    if required is not None and not meets(session.acr, required):
        if required == EIDAS_HIGH:
            unmet = UnmetAuthenticationRequirements(
                "Level high needs a hardware-protected credential.", redirect_uri=oauth_request.payload.redirect_uri
            )
            unmet.state = oauth_request.payload.state
            return server.handle_error_response(oauth_request, unmet)
        return pages.step_up_page(
            provider=provider,
            client_title=title,
            required=required,
            query=query,
            csrf=session.csrf_token,
            error=None,
            demo_hint=pages.demo_code_hint(settings.demo, citizen),
        )
    if policy.asks_consent and decision is None:
        return pages.consent_page(
            provider=provider,
            client_title=title,
            sector=sector_of(sector_client).value,
            lines=policy.consent_lines(sector_client, oauth_request.payload.scope),
            query=query,
            csrf=session.csrf_token,
            acting_at=pages.client_title(sector_client) if resource else None,
            token_minutes=max(settings.access_token_ttl_seconds // 60, 1),
        )
    principal = None
    if decision != "deny":
        principal = CitizenPrincipal(
            citizen=citizen,
            client_id=client_id,
            subject=policy.subject_for(citizen, sector_client),
            acr=session.acr,
            amr=tuple(session.amr.split()),
            auth_time=int(_as_utc(session.auth_time).timestamp()),
            resource=resource,
        )
    response: Response = server.create_authorization_response(oauth_request, grant_user=principal, grant=grant)
    return response


def names(hint: str, citizen: Citizen) -> bool:
    """Whether a login hint names this citizen: a login name, phone or resident ID, as the login form takes."""
    return hint in (citizen.handle, citizen.phone, citizen.resident_id)


def login_hint(value: object) -> str:
    """OpenID Connect's ``login_hint`` as the login form's pre-filled name: a short plain string, or nothing."""
    return value if isinstance(value, str) and len(value) <= MAX_LOGIN_HINT and value.isprintable() else ""


@router.get("/authorize", summary="OpenID Connect authorization endpoint (browser)", response_class=Response)
async def authorize(request: Request, state: StateDep) -> Response:
    return await run_in_threadpool(continue_authorization, state, request.url.query, dict(request.cookies))


@router.post("/authorize", summary="The citizen's consent decision", response_class=Response, include_in_schema=False)
async def decide(request: Request, state: StateDep) -> Response:
    form = await request.form()
    current = await run_in_threadpool(
        current_session, state.database, request.cookies.get(cookie(state.settings, SESSION_COOKIE))
    )
    query = str(form.get("authorization_request", ""))
    if current is None or not hmac.compare_digest(str(form.get("csrf", "")), current[0].csrf_token):
        return back_to_authorize(query)  # no valid session: start over at the login page
    decision = "allow" if form.get("decision") == "allow" else "deny"
    return await run_in_threadpool(continue_authorization, state, query, dict(request.cookies), decision)
