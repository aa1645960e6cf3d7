"""The stage's other pages: the population-level report, the breach simulator, the ledger inspector,
and the "Reset demo" form. Routes only: the figures come from ``report_view``, ``blast`` and
``ledger_view``, the reset from ``workshop.reset``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from consent.tree_heads import TreeHead
from kernel import topology
from kernel.bounds import LogIndex
from kernel.regime import Regime
from workshop.report.sources import MissingData
from workshop.reset import ResetError, reset_demo
from workshop.stage import blast
from workshop.stage.csrf import RESET_PATH, TOKEN_FIELD, check
from workshop.stage.errors import ResetFailed
from workshop.stage.evidence import Evidence
from workshop.stage.layout import render_page
from workshop.stage.ledger_view import ENTRIES_PER_PAGE, Ledger, within
from workshop.stage.report_view import report_context

MAX_NAME = 100
PartyName = Annotated[list[str], Query(alias="party")]
SetName = Annotated[str, Query(alias="set", max_length=MAX_NAME)]
OptionalIndex = Annotated[LogIndex | None, Query()]


@dataclass(frozen=True)
class PagesConfig:
    data_dir: Path
    base_ports: dict[Regime, int]
    own_origin: str  # the stage's origin, the only one a reset may come from
    transport: httpx.AsyncBaseTransport | None  # None: the network (tests: the mesh's)


def pages_router(config: PagesConfig, templates: Jinja2Templates, evidence: Evidence) -> APIRouter:
    router = APIRouter()
    consent_url = topology.loopback_url("consent", Regime.RIGHTS, config.base_ports)

    def transport() -> httpx.AsyncBaseTransport:
        return config.transport or httpx.AsyncHTTPTransport()

    @router.get("/report", response_class=HTMLResponse)
    async def report(request: Request) -> Response:
        context = await run_in_threadpool(report_context, evidence)
        return render_page(templates, request, "stage/report.html", context)

    @router.get("/breach", response_class=HTMLResponse)
    async def breach(request: Request, party: PartyName = [], set_name: SetName = "") -> Response:  # noqa: B006
        blast.validate(party, set_name)
        radii = await run_in_threadpool(_radii, evidence, party, set_name)
        context: dict[str, Any] = {"chosen": party, "set_name": set_name, "radii": radii}
        if request.headers.get("hx-request") == "true":
            return templates.TemplateResponse(request, "stage/_blast.html", context)
        context |= {"parties": blast.known_parties(), "set_names": blast.set_names()}
        return render_page(templates, request, "stage/breach.html", context)

    @router.get("/ledger", response_class=HTMLResponse)
    async def ledger(
        request: Request,
        start: OptionalIndex = None,
        entry: OptionalIndex = None,
        first: OptionalIndex = None,
        second: OptionalIndex = None,
    ) -> Response:
        async with httpx.AsyncClient(transport=transport(), base_url=consent_url, timeout=30) as http:
            inspector = Ledger(http)
            signed = await inspector.signed_head()
            context: dict[str, Any] = {"signed": signed, "consent_url": consent_url}
            if signed.head is not None:
                context |= await _ledger_context(inspector, signed.head, start, entry, first, second)
        return render_page(templates, request, "stage/ledger.html", context)

    @router.get("/ledger/tamper", response_class=HTMLResponse)
    async def tamper(request: Request, entry: Annotated[LogIndex, Query()]) -> Response:
        network = transport()
        async with httpx.AsyncClient(transport=network, base_url=consent_url, timeout=30) as http:
            inspector = Ledger(http)
            signed = await inspector.signed_head()
            demo = None
            if signed.head is not None:
                demo = await inspector.tamper_demo(signed.head, signed.raw, entry, network)
        return templates.TemplateResponse(request, "stage/_tamper.html", {"signed": signed, "demo": demo})

    @router.post(RESET_PATH, response_class=HTMLResponse)
    async def reset(
        request: Request,
        token: Annotated[str, Form(alias=TOKEN_FIELD, max_length=128)] = "",
        regime: Annotated[str, Form(pattern="^(both|platform|rights)$")] = "both",
    ) -> Response:
        check(request, token, config.own_origin)
        regimes = list(Regime) if regime == "both" else [Regime(regime)]
        try:
            done = await reset_demo(config.data_dir, regimes, config.base_ports, transport=config.transport)
        except ResetError as error:
            raise ResetFailed(str(error)) from error
        return render_page(templates, request, "stage/reset.html", {"done": done, "regimes": regimes})

    return router


def _radii(evidence: Evidence, party: list[str], set_name: str) -> list[Any]:
    radii: list[Any] = []
    if not party and not set_name:
        return radii
    for regime in Regime:
        members, not_here = blast.members_in(regime, party, set_name)
        try:
            findings, _ = evidence.findings(regime)
        except MissingData as error:
            radii.append({"regime": regime.value, "missing": error.missing})
            continue
        radii.append(blast.blast_radius(findings, regime, members, not_here))
    return radii


async def _ledger_context(
    inspector: Ledger, head: TreeHead, start: int | None, entry: int | None, first: int | None, second: int | None
) -> dict[str, Any]:
    size = head.tree_size
    if start is not None and size:
        within(start, size, "page start")
    # by default the newest page: the entries the demo's journeys just logged
    begin = start if start is not None else max(size - ENTRIES_PER_PAGE, 0)
    end = min(begin + ENTRIES_PER_PAGE, size)
    context: dict[str, Any] = {
        "size": size,
        "entries": await inspector.entries(begin, end),
        "previous_start": max(begin - ENTRIES_PER_PAGE, 0) if begin > 0 else None,
        "next_start": end if end < size else None,
        "chosen_entry": entry if entry is not None else (size - 1 if size else None),
        "first": first if first is not None else max(size // 2, 1),
        "second": second if second is not None else size,
    }
    if entry is not None:
        context["inclusion"] = await inspector.inclusion(head, entry)
    if first is not None or second is not None:
        context["consistency"] = await inspector.consistency(head, context["first"], context["second"])
    return context
