"""The rights phone's server: its pages and scripts, nothing else (the citizen's logic runs in the browser).

``/`` lists the journeys (``journeys.py``), ``/journeys/<key>`` is one journey's page, ``/callback``
is where the identity provider sends the browser back with a code (the page's script redeems it and
returns to the journey that asked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from kernel.cors import origin_of
from kernel.framing import frame_ancestors
from kernel.lockstep import mount_lockstep_script
from kernel.problems import NotFound, install_problem_handlers, problem_responses
from kernel.regime import Regime
from kernel.web_assets import mount_web_assets, vendor_url
from workshop.citizen_web.journeys import JOURNEYS, Journey, journey_named
from workshop.citizen_web.settings import CITIZEN_WEB, Settings

HERE = Path(__file__).resolve().parent
HOME_TEMPLATE = "citizen_web/home.html"
CALLBACK_TEMPLATE = "citizen_web/callback.html"
# a demo persona's handle (kernel/personas.py), carried from the home page to a journey's page
PersonaHandle = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


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


async def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]
TEMPLATES = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html


def render(request: Request, settings: Settings, template: str, context: dict[str, Any]) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "settings": settings,
            "govuk_css": vendor_url("govuk", "govuk-frontend.min.css"),
            # a stage may frame the page: it loads the stage's lock-step (kernel/lockstep.py)
            "stage_origin": origin_of(settings.stage_origin) if settings.stage_origin else "",
        }
        | context,
        headers={
            "Content-Security-Policy": page_policy(settings),
            "Cache-Control": "no-store",
            # the callback's address holds the authorization code: never sent on as a referrer
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


def home_page(request: Request, settings: SettingsDep, persona: PersonaHandle = None) -> HTMLResponse:
    """The journeys the app offers, each link carrying the persona the stage asked for."""
    return render(request, settings, HOME_TEMPLATE, {"journeys": JOURNEYS, "persona": persona})


def journey_page(request: Request, key: str, settings: SettingsDep, persona: PersonaHandle = None) -> HTMLResponse:
    """One journey's page; the browser's script (``static/journeys/<key>.js``) runs it."""
    journey: Journey = journey_named(key)
    template = journey.template
    return render(request, settings, template, {"journey": journey, "persona": persona})


def callback_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Back from the identity provider: the script redeems the code and returns to the journey."""
    return render(request, settings, CALLBACK_TEMPLATE, {})


async def healthz() -> dict[str, str]:
    return {"status": "ok", "service": CITIZEN_WEB, "regime": Regime.RIGHTS.value}


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="citygate citizen web app (rights regime)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_api_route("/", home_page, methods=["GET"], response_class=HTMLResponse, summary="The journeys")
    app.add_api_route(
        "/journeys/{key}",
        journey_page,
        methods=["GET"],
        response_class=HTMLResponse,
        summary="One journey",
        responses=problem_responses(NotFound),
    )
    app.add_api_route(
        "/callback", callback_page, methods=["GET"], response_class=HTMLResponse, summary="Back from the login"
    )
    app.add_api_route("/healthz", healthz, methods=["GET"], summary="Liveness")
    mount_web_assets(app, "govuk", "jose")
    mount_lockstep_script(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
