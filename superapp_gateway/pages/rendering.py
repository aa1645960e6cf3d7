"""Rendering the phone's pages: the templates (Jinja2, autoescaped), the headers every page gets,
and problems told as friendly pages.

The headers: a Content-Security-Policy that runs no inline script, loads everything from the
gateway's own origin, and lets only the workshop stage frame the page (``stage_origin``); no caching
(the pages show a citizen's data); no referrer beyond the gateway's origin.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kernel.problems import Problem
from kernel.state import state_of
from kernel.web_assets import vendor_url
from superapp_gateway.dependencies import GatewayState
from superapp_gateway.errors import AgreementRequired, NotLoggedIn
from superapp_gateway.settings import Settings
from superapp_gateway.stage_origin import frame_ancestors

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
HOME = "/app/"
# a problem that only means "start again at the home screen" (log in, or agree first)
_BACK_HOME: tuple[type[Problem], ...] = (NotLoggedIn, AgreementRequired)


@functools.cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["vendor_url"] = vendor_url
    environment.filters["yuan"] = yuan
    environment.filters["china_time"] = china_time
    environment.filters["epoch_china_time"] = epoch_china_time
    return environment


CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def china_time(value: object) -> str:
    """An instant a department sent (ISO 8601) as the app shows it: Beijing time, to the minute."""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def epoch_china_time(value: object) -> str:
    """A JWT's NumericDate (seconds since the epoch) as the app shows instants."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    return datetime.fromtimestamp(value, UTC).astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def yuan(cents: object) -> str:
    """Fen as the app shows money: ¥1,234.50."""
    amount = int(cents) if isinstance(cents, int | str) else 0
    sign = "-" if amount < 0 else ""
    whole, fen = divmod(abs(amount), 100)
    return f"{sign}¥{whole:,}.{fen:02d}"


def page_headers(settings: Settings) -> dict[str, str]:
    policy = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            frame_ancestors(settings.stage_origin),
        )
    )
    headers = {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if not settings.stage_origin:  # older browsers, which ignore frame-ancestors
        headers["X-Frame-Options"] = "DENY"
    return headers


def page(settings: Settings, template: str, context: Mapping[str, Any], status_code: int = 200) -> HTMLResponse:
    # a stage may frame the page: it loads the stage's lock-step (kernel/lockstep.py)
    html = _environment().get_template(f"app/{template}").render(**context, stage_origin=settings.stage_origin)
    return HTMLResponse(html, status_code=status_code, headers=page_headers(settings))


def see_other(settings: Settings, path: str) -> Response:
    """After a form: the page to show next (POST, redirect, GET: a reload never sends the form again)."""
    return RedirectResponse(path, status_code=303, headers=page_headers(settings))


def error_page(settings: Settings, problem: Problem) -> Response:
    if isinstance(problem, _BACK_HOME):
        return RedirectResponse(HOME, status_code=303, headers=page_headers(settings))
    return page(
        settings,
        "error.html",
        {"status": problem.status, "title": problem.phrase, "detail": problem.detail or problem.phrase},
        status_code=problem.status,
    )


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    """A route of the phone's pages. In a regime without them it answers the API's 404 problem
    (``GatewayPolicy.phone``); otherwise a problem (the route's own or its dependencies') is told
    as a page — a citizen's browser shows it, not a JSON document."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            state = state_of(request.app, GatewayState)
            state.policy.phone.require_offered()  # raised out: problem+json, there are no pages here
            try:
                return await handler(request)
            except Problem as problem:
                return error_page(state.settings, problem)
            except RequestValidationError:
                return page(
                    state.settings,
                    "error.html",
                    {"status": 400, "title": "Bad request", "detail": "This address or form is not one of the app's."},
                    status_code=400,
                )

        return page_handler
