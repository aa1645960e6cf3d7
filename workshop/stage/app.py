"""The stage's app: the page with both phones, the who-learned-what panels, and the step button.

Server-rendered (Jinja2, autoescaped) with htmx for the panels; no inline script or style, so the
Content-Security-Policy allows scripts and styles from this origin only and frames from the two
phones' origins only, and nobody may frame the stage itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from kernel.personas import PERSONAS, Persona
from kernel.problems import install_problem_handlers
from kernel.regime import Regime
from kernel.web_assets import mount_web_assets, vendor_url
from workshop.stage.changes import ChangeTracker
from workshop.stage.evidence import Evidence
from workshop.stage.layout import render_page
from workshop.stage.pages import PagesConfig, pages_router
from workshop.stage.panels import View, end_step, panel_context
from workshop.stage.phones import (
    DEFAULT_JOURNEY,
    DEFAULT_PERSONA,
    JOURNEYS,
    framed_origins,
    journey,
    partner,
    persona,
    phones,
)
from workshop.stage.settings import Settings
from workshop.stage.step_traces import StepTraces
from workshop.stage.traces import SpanStore, traces_router

HERE = Path(__file__).resolve().parent
STEP_ENDED_EVENT = "step-ended"
# A regime's current step drawn as ``workshop.stage.sequence.sequence_context`` gives it (diagram_id,
# title, calls, svg), or None while there is none.
SequenceSource = Callable[[Regime], dict[str, Any] | None]


def content_security_policy(frame_origins: list[str]) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"frame-src {' '.join(frame_origins)}",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


class SecurityHeaders(BaseHTTPMiddleware):
    def __init__(self, app: object, policy: str) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.policy = policy

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = self.policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"  # frame-ancestors, for browsers that predate it
        # no Referer to any other origin; "no-referrer" would also make the browser send ``Origin: null``
        # on the stage's own form POSTs, and the reset checks that Origin (workshop/stage/csrf.py)
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


async def chosen_persona(
    persona_handle: Annotated[str, Query(alias="persona", max_length=64)] = DEFAULT_PERSONA,
) -> Persona:
    return persona(persona_handle)


ChosenPersona = Annotated[Persona, Depends(chosen_persona)]


def create_app(
    settings: Settings,
    *,
    sequence_of: SequenceSource | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``sequence_of`` replaces the diagrams drawn from the collected spans, ``transport`` the network
    to the services (the ledger inspector's reads, the demo reset) (tests)."""
    app = FastAPI(title="citygate stage", docs_url=None, redoc_url=None, openapi_url=None)
    install_problem_handlers(app)
    left, right = phones(settings.base_ports)
    app.add_middleware(SecurityHeaders, policy=content_security_policy(framed_origins(settings.base_ports)))
    mount_web_assets(app, "htmx")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True))
    templates.env.globals["vendor_url"] = vendor_url
    evidence = Evidence(settings.data_dir, settings.database_urls)
    tracker = ChangeTracker()
    app.state.evidence, app.state.tracker = evidence, tracker
    # the services' spans (OTLP/HTTP, as to any collector), drawn under each phone as the step's calls
    spans = SpanStore()
    app.include_router(traces_router(spans))
    step_traces = StepTraces(spans)
    sequence_of = sequence_of or step_traces.sequence
    own_origin = f"http://{settings.host}:{settings.port}"
    app.include_router(
        pages_router(PagesConfig(settings.data_dir, settings.base_ports, own_origin, transport), templates, evidence)
    )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "stage"}

    @app.get("/", response_class=HTMLResponse)
    async def stage(
        request: Request, chosen: ChosenPersona, journey_key: Annotated[str, Query(alias="journey")] = DEFAULT_JOURNEY
    ) -> Response:
        return render_page(
            templates,
            request,
            "stage/index.html",
            {
                "personas": PERSONAS,
                "persona": chosen,
                "partner": partner(chosen),
                "journeys": JOURNEYS,
                "journey": journey(journey_key),
                "phones": [(phone, phone.start_url(chosen, journey(journey_key))) for phone in (left, right)],
                "poll_seconds": settings.poll_seconds,
                "sequences": {phone.regime: sequence_of(phone.regime) for phone in (left, right)},
            },
        )

    @app.get("/sequence/{regime}", response_class=HTMLResponse)
    async def sequence(request: Request, regime: Regime) -> Response:
        context = {"regime": regime.value, "sequence": sequence_of(regime), "poll_seconds": settings.poll_seconds}
        return templates.TemplateResponse(request, "stage/_sequence_region.html", context)

    @app.get("/exposure/{regime}", response_class=HTMLResponse)
    async def exposure(request: Request, regime: Regime, chosen: ChosenPersona, view: View = View.PERSONA) -> Response:
        context = await run_in_threadpool(panel_context, evidence, tracker, regime, chosen, view)
        context["poll_seconds"] = settings.poll_seconds
        return templates.TemplateResponse(request, "stage/_exposure.html", context)

    @app.get("/step")
    async def step(chosen: ChosenPersona) -> Response:
        # marks where a step ends in what the panels highlight; it changes nothing any party holds
        await run_in_threadpool(end_step, evidence, tracker, chosen)
        step_traces.end_step()
        return Response(status_code=200, headers={"HX-Trigger": STEP_ENDED_EVENT})

    return app
