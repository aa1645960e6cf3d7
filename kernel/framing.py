"""Who may show a service's pages in a frame: nobody, or the workshop's stage (``workshop/stage``).

The stage puts each phone in an ``<iframe>``; the pages a phone shows (the identity provider's
login and consent, the citizen web app's pages) must then allow that one origin as their frame
ancestor, and only it: anything else could frame the login page and overlay it (clickjacking).
``stage_origin`` unset keeps ``frame-ancestors 'none'``.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.cors import origin_of

CSP = "content-security-policy"


def frame_ancestors(stage_origin: str | None) -> str:
    """The CSP directive: the stage's origin (and the page's own), or none."""
    return f"frame-ancestors 'self' {origin_of(stage_origin)}" if stage_origin else "frame-ancestors 'none'"


class FramedByStage:
    """Rewrites the ``frame-ancestors`` of every HTML answer's CSP to allow the stage; drops
    ``X-Frame-Options`` there (it can only say DENY or SAMEORIGIN, and would forbid the stage)."""

    def __init__(self, app: ASGIApp, *, stage_origin: str) -> None:
        self.app = app
        self.directive = frame_ancestors(stage_origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_framed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if CSP in headers:
                    kept = [d.strip() for d in headers[CSP].split(";") if d.strip() and "frame-ancestors" not in d]
                    headers[CSP] = "; ".join([*kept, self.directive])
                    if "x-frame-options" in headers:
                        del headers["x-frame-options"]
            await send(message)

        await self.app(scope, receive, send_framed)


def allow_stage_framing(app: FastAPI, stage_origin: str | None) -> None:
    """Pages with a CSP may be framed by the stage; unset, they keep whatever they said (``'none'``)."""
    if stage_origin:
        app.add_middleware(FramedByStage, stage_origin=stage_origin)
