"""The stage origin setting (``CITYGATE_GATEWAY_STAGE_ORIGIN``): it goes into a response header, so
only a bare origin passes, nothing that could add a directive or a header of its own."""

from __future__ import annotations

import re

# scheme://host[:port], nothing else: no path, no space, no ";" or quote that would end the directive
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def checked_stage_origin(value: str) -> str:
    """``value`` without a trailing slash, if it is an origin (or empty); ValueError otherwise."""
    origin = value.strip().rstrip("/")
    if origin and not _ORIGIN.fullmatch(origin):
        raise ValueError(f"the stage origin must be scheme://host[:port], not {value!r}")
    return origin


def frame_ancestors(stage_origin: str) -> str:
    """The CSP directive that lets the stage (and nobody else) frame a page."""
    return f"frame-ancestors 'self' {stage_origin}" if stage_origin else "frame-ancestors 'none'"
