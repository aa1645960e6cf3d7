"""What the stage receives from the services' spans holds none of a citizen's data.

The stage collects every service's spans (OTLP/HTTP, kernel/tracing.py -> workshop/stage/traces.py)
and projects them on a wall. In the rights regime the gateway only relays sealed envelopes and the
departments answer inside them: if a span recorded a plate, an offence, a resident ID, a token or an
envelope, the stage (and anyone an operator sends the spans to, say Jaeger) would hold it in clear.
Each test runs the fines journey (look up, pay) in one regime's mesh, sends the spans the services
recorded to a stage's collector exactly as the exporter would, and searches everything it received.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import aclosing
from pathlib import Path
from typing import Any

from kernel.personas import by_handle
from kernel.regime import Regime
from tests.fixtures.demo_journeys import Device
from tests.fixtures.logins import app_tokens, super_app
from tests.fixtures.mesh import Mesh
from tests.fixtures.spans import collector, otlp_body, record_spans
from tests.fixtures.wallet import pay
from workshop.stage.traces import SpanStore, StoredSpan

CAR_OWNER = by_handle("li-wei")
# the fine's fields that are the citizen's (and the traffic police's) business, not a relay's
FINE_FIELDS = ("plate", "offence", "place")


def everything_stored(store: SpanStore) -> list[StoredSpan]:
    return [span for summary in store.traces(limit=500) for span in store.trace(summary.trace_id)]


def searched_text(span: StoredSpan) -> Iterable[tuple[str, str]]:
    """Where a value could hide in what the stage keeps of a span: its name and every attribute."""
    yield "name", span.name
    for key, value in span.attributes.items():
        yield key, json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def found_in(spans: list[StoredSpan], body: bytes, secrets: dict[str, str]) -> list[str]:
    findings = []
    for label, secret in secrets.items():
        assert secret, label
        if secret.encode() in body:
            findings.append(f"{label} ({secret!r}) in the OTLP body")
        for span in spans:
            for where, text in searched_text(span):
                if secret in text:
                    findings.append(f"{label} ({secret!r}) in {span.service} span {span.name!r}: {where}={text!r}")
    return findings


async def received_by_the_stage(exporter: Any) -> tuple[list[StoredSpan], bytes]:
    """The recorded spans sent to a stage's collector as the OTLP exporter sends them; what it stored."""
    body = otlp_body(exporter.get_finished_spans())
    store, stage = collector()
    async with stage:
        answer = await stage.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
        assert answer.status_code == 200, answer.text
    return everything_stored(store), body


async def test_the_rights_regime_sends_the_stage_no_plaintext(tmp_path: Path) -> None:
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh:
        exporter = record_spans(mesh)
        tokens = await app_tokens(mesh, CAR_OWNER, "fines")
        async with aclosing(await super_app(mesh, CAR_OWNER.handle)) as browser:
            session_cookies = {f"cookie {name}": value for name, value in browser.cookies.items()}
            device = Device(mesh, browser, tokens)
            looked_up = await device.department("fines", "GET", "/me/fines")
            assert looked_up.status == 200, looked_up.body
            fines = looked_up.body
            unpaid = next(fine for fine in fines if fine["status"] == "unpaid")
            paid = await pay(browser, unpaid, "stage-sees-no-plaintext")
            assert paid.status_code == 201, paid.text
            after = await device.department("fines", "GET", f"/me/fines/{unpaid['id']}")
            assert after.body["status"] == "paid", after.body
        spans, body = await received_by_the_stage(exporter)

    services = {span.service for span in spans}
    assert {"rights/gateway", "rights/fines", "rights/identity"} <= services, services
    assert any(isinstance(span.attributes.get("citygate.sealed_bytes"), int) for span in spans), (
        "the relay's span says how much it carried sealed"
    )
    secrets = {
        "resident ID": CAR_OWNER.resident_id,
        "plate": CAR_OWNER.plate or "",
        "access token": tokens["fines"],
        **session_cookies,
        **{f"fine {n} {field}": str(fine[field]) for n, fine in enumerate(fines) for field in FINE_FIELDS},
    }
    assert not found_in(spans, body, secrets)


async def test_the_platform_regime_sends_the_stage_no_resident_id(tmp_path: Path) -> None:
    """The platform's parties do see the resident ID (that is the regime's point); the stage is told
    that they did ("resident ID" in ``citygate.clear``), never the number itself."""
    async with Mesh(Regime.PLATFORM, tmp_path) as mesh:
        exporter = record_spans(mesh)
        async with aclosing(await super_app(mesh, CAR_OWNER.handle)) as browser:
            session_cookies = {f"cookie {name}": value for name, value in browser.cookies.items()}
            fines = (await browser.get("/city-services/fines")).json()
            unpaid = next(fine for fine in fines if fine["status"] == "unpaid")
            paid = await pay(browser, unpaid, "stage-sees-no-resident-id")
            assert paid.status_code == 201, paid.text
        spans, body = await received_by_the_stage(exporter)

    assert {"platform/gateway", "platform/fines"} <= {span.service for span in spans}
    clear = " ".join(str(span.attributes.get("citygate.clear", "")) for span in spans)
    assert "resident ID" in clear, "the stage is told who learned the resident ID"
    assert not found_in(spans, body, {"resident ID": CAR_OWNER.resident_id, **session_cookies})
