"""The phones' half of the workshop stage's lock-step: one script every phone page loads when a stage
may frame it (``kernel/static/lockstep.js``; the stage's half is ``workshop/stage/static/lockstep.js``).

The stage steps both phones with one control: it asks each phone's page, by ``postMessage``, to take
its next step, and the page clicks the element it marked ``data-next``. A page loads the script with
its stage's origin on the tag (``<script src="…/lockstep.js" data-stage-origin="…" defer>``) and only
when the app has a stage (``stage_origin``); the script takes messages from that origin only, and from
the window that frames the page. The identity provider's pages (login, consent, no script at all) take
no step from the stage: there the facilitator clicks, as the citizen would.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

LOCKSTEP_PREFIX = "/lockstep"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount_lockstep_script(app: FastAPI, prefix: str = LOCKSTEP_PREFIX) -> None:
    """Serve the phone's lock-step script at ``<prefix>/lockstep.js`` of ``app`` (one file for every phone)."""
    app.mount(prefix, StaticFiles(directory=STATIC_DIR), name="lockstep")
