"""Every page of the stage in one frame: the navigation between its pages and the "Reset demo" form,
whose token (``workshop.stage.csrf``) each page hands out with its response."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from workshop.stage.csrf import TOKEN_FIELD, hand_out, new_token

# (path, label) of the stage's pages, in the navigation's order
NAVIGATION = (
    ("/", "Stage: two phones"),
    ("/report", "Report"),
    ("/breach", "Breach simulator"),
    ("/ledger", "Ledger inspector"),
)


def render_page(
    templates: Jinja2Templates, request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    token = new_token()
    context = {
        **context,
        "navigation": NAVIGATION,
        "current_path": request.url.path,
        "reset_token": token,
        "token_field": TOKEN_FIELD,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    hand_out(response, token)
    return response
