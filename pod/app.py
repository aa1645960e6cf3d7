"""The pod's app: its state, its routers and the CORS any Solid app in a browser needs; nothing else."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from kernel.demo_reset import demo_reset_router
from kernel.service_app import build_service_app
from pod.demo import reset_demo
from pod.dependencies import PodState
from pod.me_routes import router as citizen_router
from pod.models import PodTable
from pod.routes import router as solid_router
from pod.settings import Settings

# What Solid clients in a browser must be able to read from a response (Solid Protocol §8.1).
EXPOSED_HEADERS = [
    "Accept-Patch",
    "Accept-Post",
    "Accept-Put",
    "Allow",
    "ETag",
    "Last-Modified",
    "Link",
    "Location",
    "Updates-Via",
    "Vary",
    "WAC-Allow",
    "WWW-Authenticate",
    "Content-Type",
    "Consent-Ledger-Index",
]


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    app = build_service_app(
        settings,
        title="personal data pod",
        metadata=PodTable.metadata,  # every table of the pod is declared in pod.models
        routers=[citizen_router, solid_router, demo_reset_router(reset_demo)],
        state=PodState,
        transport=transport,
    )
    # Any web app may call the pod on the citizen's behalf: access is decided by the ACLs and the
    # citizen's token (sent in Authorization), not by origin; the Origin is echoed and Vary: Origin
    # is set. Never with credentials: the pod uses no cookies, and allowing them for every origin
    # would hand any site what ambient credentials unlock.
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=".*",
        allow_credentials=False,
        allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )
    return app
