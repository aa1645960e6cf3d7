"""Cross-origin reads for the citizen's own web app (``workshop/citizen_web``), and for nothing else.

The rights phone is served from its own origin; the citizen's browser there fetches a department's
published keys, redeems its authorization code at the identity provider and posts sealed envelopes
to the super-app gateway. Each of those services opts in to exactly one origin (its setting
``citizen_web_origin``), and only on the paths the web app needs: any other origin, and any other
path, gets no ``Access-Control-Allow-Origin`` at all, so the browser keeps the answer from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# What the web app sends beyond the CORS-safelisted headers: JSON bodies, the wallet's retry key,
# and the W3C trace context the stage uses to pick a step's traces.
ALLOWED_HEADERS = ("Content-Type", "Idempotency-Key", "traceparent")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased as browsers send ``Origin``; ValueError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is no http(s) origin")
    return f"{parts.scheme}://{parts.netloc.lower()}"


class PathScopedCORS:
    """Starlette's CORS middleware, applied only to requests whose path starts with one of ``prefixes``
    (the rest of the app answers as if no CORS were configured)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        origin: str,
        prefixes: tuple[str, ...],
        credentials: bool,
        methods: tuple[str, ...],
        headers: tuple[str, ...] = ALLOWED_HEADERS,
    ) -> None:
        self.app = app
        self.prefixes = prefixes
        self.cors = CORSMiddleware(
            app,
            allow_origins=[origin],
            allow_methods=list(methods),
            allow_headers=list(headers),
            allow_credentials=credentials,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path and any(path == prefix or path.startswith(prefix.rstrip("/") + "/") for prefix in self.prefixes):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def allow_citizen_web(
    app: FastAPI,
    origin: str | None,
    paths: Iterable[str],
    *,
    credentials: bool = False,
    methods: tuple[str, ...] = ("GET",),
    headers: tuple[str, ...] = ALLOWED_HEADERS,
) -> None:
    """Let the citizen web app at ``origin`` read ``paths`` (and what lies under them); nothing when unset.
    ``headers``: what its requests may carry beyond the safelisted ones (``Authorization`` only where
    the app presents its own bearer token, never with cookies)."""
    if not origin:
        return
    app.add_middleware(
        PathScopedCORS,
        origin=origin_of(origin),
        prefixes=tuple(paths),
        credentials=credentials,
        methods=methods,
        headers=headers,
    )
