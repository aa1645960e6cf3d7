"""Sign-up: the platform's one click-through user agreement, the only consent it ever asks.

On the platform (``ClickThroughAgreement``) the first login ends on ``/user-agreement``: a page of
clauses — the real-name account, the profile and journey history the operator keeps, the sharing
with departments and partners that "Internet Plus" asks for — and one "Agree" button. Until the
citizen has agreed to the current version, every city service answers 403 ``agreement-required``.
Agreeing once covers everything that follows, as the seed documents describe Alipay's and WeChat's
service agreements.

The rights regime (``NoBlanketAgreement``) asks no blanket consent: the super-app's terms cover
the wallet and routing only, and each use of personal data is asked for, and logged, in the
consent ledger when it happens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Protocol

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import IntegrityError

from kernel.problems import Problem
from kernel.regime import Regime
from superapp_gateway.models import UserAgreementAcceptance
from superapp_gateway.sessions import LoggedInSession, current_session, presented_session_id

router = APIRouter(tags=["sign-up"])
AGREEMENT_PATH = "/user-agreement"
AFTER_LOGIN_PATH = "/me"
PLATFORM_VERSION = "2026-11"
PLATFORM_CLAUSES = (
    "Your account is a real-name account, linked to your resident identity number.",
    "We keep your profile and a record of every city service you use through the app: what you paid, "
    "which appointments you booked and of what type, which prescriptions you were issued and collected.",
    "We share this information with government departments and our partners as the Internet Plus "
    "government services policy requires, so that you need not provide it again.",
    "By tapping \u201cAgree\u201d you consent to all of the above. There is nothing else to consent to.",
)
RIGHTS_TERMS = (
    "The super-app routes your requests and runs your wallet. It keeps your wallet payments (payee, "
    "reference, amount) and nothing about the journeys themselves.",
    "There is no blanket consent: whenever a department or a service wants to use your data, it asks you "
    "for that use in your consent app, and every use is logged where you can see it.",
)


class AgreementPublic(BaseModel):
    regime: Regime
    version: str | None = Field(description="The version to agree to; null where there is nothing to agree to")
    clauses: list[str]
    accepted_at: datetime | None = None


class AgreementAcceptance(BaseModel):
    version: str = Field(min_length=1, max_length=40)


class AgreementRequired(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            f"Agree to the super-app's user agreement first ({AGREEMENT_PATH}).",
            kind="agreement-required",
            agreement=AGREEMENT_PATH,
        )


class SignUp(Protocol):
    def landing_after_login(self, app, subject: str) -> str:
        """Where the browser goes after the identity provider sent it back."""
        ...

    def require_agreed(self, app, subject: str) -> None:
        """Raise unless the citizen may use the city services."""
        ...

    def agreement(self, app, subject: str | None) -> AgreementPublic: ...

    def accept(self, app, subject: str, version: str) -> AgreementPublic: ...


class ClickThroughAgreement:
    """Platform: one agreement at sign-up, and nothing works before it."""

    def landing_after_login(self, app, subject: str) -> str:
        return AFTER_LOGIN_PATH if self._accepted(app, subject) else AGREEMENT_PATH

    def require_agreed(self, app, subject: str) -> None:
        if self._accepted(app, subject) is None:
            raise AgreementRequired()

    def agreement(self, app, subject: str | None) -> AgreementPublic:
        accepted = self._accepted(app, subject) if subject else None
        return AgreementPublic(
            regime=Regime.PLATFORM,
            version=PLATFORM_VERSION,
            clauses=list(PLATFORM_CLAUSES),
            accepted_at=accepted.accepted_at if accepted else None,
        )

    def accept(self, app, subject: str, version: str) -> AgreementPublic:
        if version != PLATFORM_VERSION:
            raise Problem(
                409,
                f"The agreement shown was version {version!r}; the current one is {PLATFORM_VERSION!r}: read it again.",
                kind="agreement-version-mismatch",
                current_version=PLATFORM_VERSION,
            )
        with app.state.database.session() as session:
            earlier = session.get(UserAgreementAcceptance, subject)
            # agreeing twice to one version changes nothing; agreeing to a new version replaces the old
            if earlier is None or earlier.version != version:
                session.merge(UserAgreementAcceptance(subject=subject, version=version, accepted_at=datetime.now(UTC)))
                try:
                    session.commit()
                except IntegrityError:  # a concurrent first "Agree" by the same citizen stored it first
                    session.rollback()
        return self.agreement(app, subject)

    def _accepted(self, app, subject: str) -> UserAgreementAcceptance | None:
        with app.state.database.session() as session:
            accepted = session.get(UserAgreementAcceptance, subject)
        return accepted if accepted is not None and accepted.version == PLATFORM_VERSION else None


class NoBlanketAgreement:
    """Rights: nothing to click through; each use of data is consented to on its own."""

    def landing_after_login(self, app, subject: str) -> str:
        return AFTER_LOGIN_PATH

    def require_agreed(self, app, subject: str) -> None:
        return None

    def agreement(self, app, subject: str | None) -> AgreementPublic:
        return AgreementPublic(regime=Regime.RIGHTS, version=None, clauses=list(RIGHTS_TERMS))

    def accept(self, app, subject: str, version: str) -> AgreementPublic:
        raise Problem(
            409,
            "This super-app asks no blanket consent: each use of your data is asked in your "
            "consent app when it happens.",
            kind="no-blanket-consent",
        )


def _wants_html(request: Request) -> bool:
    """A page unless JSON is asked for by name (browsers send text/html, plain clients */*)."""
    return "application/json" not in request.headers.get("accept", "")


@router.get(
    AGREEMENT_PATH,
    summary="The super-app's user agreement (platform: the one consent asked at sign-up)",
    responses={200: {"content": {"text/html": {}}}},
)
async def show_agreement(request: Request) -> AgreementPublic:
    app = request.app
    session = await run_in_threadpool(current_session, app, presented_session_id(request))
    shown = await run_in_threadpool(app.state.policy.sign_up.agreement, app, session.subject if session else None)
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
    responses={303: {"description": "a browser's form post: on to /me"}},
)
async def agree(request: Request, citizen: LoggedInSession) -> AgreementPublic:
    app = request.app
    form_post = not request.headers.get("content-type", "").startswith("application/json")
    try:
        given = dict(await request.form()) if form_post else await request.json()
        body = AgreementAcceptance.model_validate(given)
    except (ValueError, ValidationError) as error:
        raise Problem(
            422, 'Send the version you agree to: {"version": "…"} (or the page\'s form).', kind="invalid-request"
        ) from error
    accepted = await run_in_threadpool(app.state.policy.sign_up.accept, app, citizen.subject, body.version)
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
