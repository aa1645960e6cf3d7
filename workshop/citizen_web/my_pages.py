"""Two journeys of the rights phone, one page each: "my data" (consents with revoke, the access log
proven in the browser against the ledger's signed tree head, the pod's export and erasure) and the
ID card (an SD-JWT the app holds, shown as "over 18" and nothing else).

Like the rest of the app, a page is markup and a module: the citizen's logic runs in the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kernel.web_assets import vendor_url
from workshop.citizen_web.settings import Settings

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html
# journey key -> its page's template (its module is static/journeys/<key>.js)
MY_JOURNEYS: dict[str, str] = {
    "my-data": "citizen_web/journeys/my-data.html",
    "id-card": "citizen_web/journeys/id-card.html",
}

PagePolicy = Callable[[Settings], str]


def my_pages_router(page_policy: PagePolicy) -> APIRouter:
    """``GET /journeys/<key>`` for each of ``MY_JOURNEYS``, with the app's Content-Security-Policy."""
    router = APIRouter(prefix="/journeys")

    def page_for(template: str) -> Callable[[Request], HTMLResponse]:
        def page(request: Request) -> HTMLResponse:
            settings: Settings = request.app.state.settings
            return TEMPLATES.TemplateResponse(
                request,
                template,
                {"settings": settings, "govuk_css": vendor_url("govuk", "govuk-frontend.min.css")},
                headers={
                    "Content-Security-Policy": page_policy(settings),
                    "Cache-Control": "no-store",
                    "Referrer-Policy": "no-referrer",  # a login's code may be in the address
                    "X-Content-Type-Options": "nosniff",
                },
            )

        return page

    for key, template in MY_JOURNEYS.items():
        router.add_api_route(f"/{key}", page_for(template), methods=["GET"], response_class=HTMLResponse)
    return router
