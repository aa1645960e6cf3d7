"""The diagram of a step lists exactly the calls the services' spans recorded: the same calls, one
for one, as the services' own access logs name under that trace id (issue 16). The spans travel
as they do in a deployment: encoded as OTLP protobuf, posted to the stage's collector, read back
as a trace's calls."""

from __future__ import annotations

import secrets
from collections import Counter
from contextlib import aclosing

import pytest

from kernel.courier import open_response
from kernel.personas import by_handle
from kernel.regime import Regime
from tests.fixtures.logins import super_app
from tests.fixtures.matrix import SQLITE_ONLY
from tests.fixtures.spans import access_lines, collector, otlp_body, record_spans, sealed_fines_lookup
from workshop.stage.sequence import PHONE, party_of

pytestmark = [SQLITE_ONLY]

CAR_OWNER = by_handle("li-wei")


def _phone_headers() -> tuple[str, dict[str, str]]:
    trace_id = secrets.token_hex(16)
    return trace_id, {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}


async def _diagram_against_access_log(exporter, lines, trace_id: str, regime: Regime) -> list[dict]:
    _, stage = collector()
    async with stage:
        posted = await stage.post(
            "/v1/traces",
            content=otlp_body(exporter.get_finished_spans()),
            headers={"content-type": "application/x-protobuf"},
        )
        assert posted.status_code == 200
        calls = (await stage.get(f"/traces/{trace_id}")).json()["calls"]
        listed = (await stage.get("/traces", params={"regime": regime.value})).json()
    logged = [line for line in lines if line.trace_id == trace_id]
    assert logged, "the access log names the trace"
    drawn = Counter((call["to_party"], call["method"], call["route"], call["status"]) for call in calls)
    assert drawn == Counter((party_of(line.service), line.method, line.route, line.status) for line in logged)
    assert trace_id in {summary["trace_id"] for summary in listed}
    return calls


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_the_platform_lookups_diagram_is_the_access_log_of_its_trace(mesh):
    exporter = record_spans(mesh)
    async with aclosing(await super_app(mesh)) as browser:
        trace_id, headers = _phone_headers()
        with access_lines() as lines:
            assert (await browser.get("/city-services/fines", headers=headers)).status_code == 200
    calls = await _diagram_against_access_log(exporter, lines, trace_id, mesh.regime)
    assert (calls[0]["from_party"], calls[0]["to_party"], calls[0]["route"]) == (
        PHONE,
        "gateway",
        "/city-services/fines",
    )
    to_fines = [call for call in calls if call["to_party"] == "fines"]
    assert [(c["from_party"], c["route"]) for c in to_fines] == [("gateway", "/citizens/{subject}/fines")]
    assert "resident ID" in to_fines[0]["clear"]
    # the gateway's first call to fines: it asked the identity service for a token first
    assert any(call["to_party"] == "identity" and call["route"] == "/oauth2/token" for call in calls)


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_the_rights_courier_diagram_is_the_access_log_of_its_trace(mesh):
    exporter = record_spans(mesh)
    async with aclosing(await super_app(mesh)) as browser:
        envelope, reply_key = await sealed_fines_lookup(mesh, CAR_OWNER)
        trace_id, headers = _phone_headers()
        with access_lines() as lines:
            relayed = await browser.post("/courier/fines", json={"envelope": envelope}, headers=headers)
        assert open_response(relayed.json()["envelope"], reply_key).status == 200
    calls = await _diagram_against_access_log(exporter, lines, trace_id, mesh.regime)
    relay = next(call for call in calls if call["route"] == "/courier/{department}")
    assert relay["from_party"] == PHONE and relay["sealed_bytes"] == len(envelope)
    opened = next(call for call in calls if call["route"] == "/me/fines")
    assert (opened["from_party"], opened["to_party"]) == ("fines", "fines") and "pseudonym" in opened["clear"]
