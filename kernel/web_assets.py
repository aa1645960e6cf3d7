"""The browser libraries citygate's pages use, served from 127.0.0.1 by the app that serves the page.

They come from the npm registry through ``web/package-lock.json`` (``make setup`` runs ``npm ci``
into ``web/node_modules``; the Dockerfile does the same), never from a CDN and never copied into the
repository. Only the folders listed in ``VENDOR_FOLDERS`` are reachable, each under
``/assets/vendor/<name>/``: a page cannot be made to serve anything else of ``node_modules``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

# name in the URL -> the package's folder that holds what a browser loads
VENDOR_FOLDERS: dict[str, str] = {
    "htmx": "htmx.org/dist",
    "jose": "jose/dist/webapi",
    "weui": "weui/dist/style",
    "govuk": "govuk-frontend/dist/govuk",
}
VENDOR_PREFIX = "/assets/vendor"
# where `make setup` installs them; a deployment that installs them elsewhere says so
WEB_MODULES_ENV = "CITYGATE_WEB_MODULES"


class WebAssetsMissing(RuntimeError):
    """The browser libraries are not installed: the pages would load without script or style."""


def web_modules_dir() -> Path:
    configured = os.environ.get(WEB_MODULES_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "web" / "node_modules"


def vendor_url(name: str, file: str) -> str:
    """The address a page uses for ``file`` of the vendored package ``name`` (see ``VENDOR_FOLDERS``)."""
    if name not in VENDOR_FOLDERS:
        raise KeyError(f"{name!r} is not a served browser library: {sorted(VENDOR_FOLDERS)}")
    return f"{VENDOR_PREFIX}/{name}/{file}"


def mount_web_assets(app: FastAPI, *names: str, modules_dir: Path | None = None) -> None:
    """Serve the listed libraries' folders; fails at start, with the command that fixes it, if any is absent."""
    root = modules_dir or web_modules_dir()
    for name in names:
        folder = root / VENDOR_FOLDERS[name]
        if not folder.is_dir():
            raise WebAssetsMissing(
                f"{folder} is missing: install the browser libraries with `make setup` "
                f"(npm ci in web/), or point {WEB_MODULES_ENV} at an installed node_modules"
            )
        app.mount(f"{VENDOR_PREFIX}/{name}", StaticFiles(directory=folder), name=f"vendor-{name}")
