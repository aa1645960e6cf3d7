"""The rights phone's server: its pages and scripts, nothing else (the citizen's logic runs in the browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from kernel.framing import frame_ancestors
from kernel.regime import Regime
from kernel.web_assets import mount_web_assets, vendor_url
from workshop.citizen_web.my_pages import my_pages_router
from workshop.citizen_web.settings import CITIZEN_WEB, Settings

HERE = Path(__file__).resolve().parent
JOURNEY_TEMPLATE = "citizen_web/journey.html"


def page_policy(settings: Settings) -> str:
    """The pages' Content-Security-Policy: scripts and styles from this origin only (no inline
    script), fetches only to the services the app talks to, framed by the stage at most."""
    talks_to = " ".join(sorted({settings.gateway_url, settings.identity_url, *settings.departments.values()}))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {talks_to}",
            f"form-action 'self' {settings.gateway_url} {settings.identity_url}",
            "base-uri 'none'",
            "object-src 'none'",
            frame_ancestors(settings.stage_origin),
        ]
    )


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]
TEMPLATES = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html


def journey_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The one page of the journey; the browser's script shows the step the citizen is at."""
    return TEMPLATES.TemplateResponse(
        request,
        JOURNEY_TEMPLATE,
        {"settings": settings, "govuk_css": vendor_url("govuk", "govuk-frontend.min.css")},
        headers={
            "Content-Security-Policy": page_policy(settings),
            "Cache-Control": "no-store",
            # the callback's address holds the authorization code: never sent on as a referrer
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def healthz() -> dict[str, str]:
    return {"status": "ok", "service": CITIZEN_WEB, "regime": Regime.RIGHTS.value}


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="citygate citizen web app (rights regime)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.add_api_route("/", journey_page, methods=["GET"], response_class=HTMLResponse, summary="The journey")
    app.add_api_route(
        "/callback", journey_page, methods=["GET"], response_class=HTMLResponse, summary="Back from the login"
    )
    app.add_api_route("/healthz", healthz, methods=["GET"], summary="Liveness")
    # --- the my-data and id-card journeys, a page each (workshop/citizen_web/my_pages.py) ---
    app.include_router(my_pages_router(page_policy))
    mount_web_assets(app, "govuk", "jose")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
