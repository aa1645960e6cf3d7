"""Whether the regime's super-app has phone pages (``GatewayPolicy.phone``).

The platform's super-app *is* the citizen's phone: its pages show everything it looks up for them.
The rights regime's gateway only relays sealed envelopes; the citizen's app is their own, served
from another origin (workshop/citizen_web), so the gateway has no pages to show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from kernel.lockstep import mount_lockstep_script
from kernel.web_assets import mount_web_assets
from superapp_gateway.pages.problems import PhoneNotOffered

STATIC_PREFIX = "/app/static"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "app"
# the stage's lock-step, for the pages a stage frames (kernel/lockstep.py)
LOCKSTEP_PREFIX = "/app/lockstep"
# the browser libraries the pages load (kernel/web_assets.py)
LIBRARIES = ("weui", "htmx")


class PhonePages(Protocol):
    def mount(self, app: FastAPI) -> None:
        """Serve what the pages load (styles, scripts), if there are pages."""
        ...

    def require_offered(self) -> None:
        """Raise ``PhoneNotOffered`` unless the regime's super-app has pages."""
        ...


class SuperAppPhone:
    """Platform: the super-app's pages are the phone."""

    def mount(self, app: FastAPI) -> None:
        mount_web_assets(app, *LIBRARIES)
        app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="phone-static")
        mount_lockstep_script(app, LOCKSTEP_PREFIX)

    def require_offered(self) -> None:
        return None


class NoPhonePages:
    """Rights: the citizen's own app is the phone; the gateway serves it nothing."""

    def mount(self, app: FastAPI) -> None:
        return None

    def require_offered(self) -> None:
        raise PhoneNotOffered()
