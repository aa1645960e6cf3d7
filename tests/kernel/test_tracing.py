"""OpenTelemetry spans of the calls between services (kernel/tracing.py): one trace id per citizen
request across services, the parents right, and on each server span what the receiving party got
in clear (kernel/in_clear.py) — in the platform regime the resident ID, in the rights regime a
pseudonym, and at the gateway's blind courier only the size of what it relayed."""

from __future__ import annotations

import secrets
from contextlib import aclosing

import pytest

from kernel.in_clear import CLEAR_ATTRIBUTE, OPENED_ATTRIBUTE, SEALED_BYTES_ATTRIBUTE
from kernel.personas import by_handle
from kernel.regime import Regime
from kernel.state import ServiceState, state_of
from kernel.tracing import Tracing
from services.fines.app import create_app as create_fines_app
from services.fines.settings import Settings as FinesSettings
from tests.fixtures.logins import super_app
from tests.fixtures.matrix import SQLITE_ONLY
from tests.fixtures.spans import record_spans, sealed_fines_lookup, service_of, spans_of_trace

pytestmark = [SQLITE_ONLY]

CAR_OWNER = by_handle("li-wei")


def _attributes(span) -> dict:
    return dict(span.attributes or {})


def _span_id(span) -> str:
    return format(span.context.span_id, "016x")


def _parent_id(span) -> str | None:
    return format(span.parent.span_id, "016x") if span.parent is not None else None


def _server(spans, service: str, route: str):
    found = [s for s in spans if service_of(s) == service and _attributes(s).get("http.route") == route]
    assert len(found) == 1, [(service_of(s), s.name) for s in spans]
    return found[0]


def _traceparent() -> tuple[str, str, dict[str, str]]:
    trace_id, phone_span = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, phone_span, {"traceparent": f"00-{trace_id}-{phone_span}-01"}


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_a_platform_lookup_is_one_trace_gateway_to_fines_and_fines_saw_the_resident_id(mesh):
    exporter = record_spans(mesh)
    async with aclosing(await super_app(mesh)) as browser:
        assert (await browser.get("/city-services/fines")).status_code == 200  # the gateway's token for fines
        trace_id, phone_span, headers = _traceparent()
        assert (await browser.get("/city-services/fines", headers=headers)).status_code == 200
    spans = spans_of_trace(exporter, trace_id)

    at_gateway = _server(spans, "platform/gateway", "/city-services/fines")
    assert _parent_id(at_gateway) == phone_span  # the phone's own span: the trace the phone started
    calls = [s for s in spans if s.kind.name == "CLIENT" and _parent_id(s) == _span_id(at_gateway)]
    at_fines = _server(spans, "platform/fines", "/citizens/{subject}/fines")
    to_fines = [s for s in calls if _span_id(s) == _parent_id(at_fines)]
    assert len(to_fines) == 1 and service_of(to_fines[0]) == "platform/gateway"
    assert _attributes(to_fines[0])["http.response.status_code"] == 200
    assert at_fines.kind.name == "SERVER" and at_gateway.kind.name == "SERVER"

    assert at_fines.attributes[CLEAR_ATTRIBUTE] == "resident ID (in the path); service token of gateway"
    assert at_gateway.attributes[CLEAR_ATTRIBUTE] == "the citizen's session (resident ID)"
    # the kinds of what was seen, never the values
    everything = " ".join(str(value) for span in spans for value in _attributes(span).values())
    assert CAR_OWNER.resident_id not in everything and "Bearer" not in everything


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_a_rights_courier_relay_shows_sealed_bytes_at_the_gateway_and_a_pseudonym_at_fines(mesh):
    exporter = record_spans(mesh)
    async with aclosing(await super_app(mesh)) as browser:
        envelope, _ = await sealed_fines_lookup(mesh, CAR_OWNER)
        trace_id, phone_span, headers = _traceparent()
        relayed = await browser.post("/courier/fines", json={"envelope": envelope}, headers=headers)
        assert relayed.status_code == 200, relayed.text
    spans = spans_of_trace(exporter, trace_id)

    at_gateway = _server(spans, "rights/gateway", "/courier/{department}")
    assert _parent_id(at_gateway) == phone_span
    assert at_gateway.attributes[SEALED_BYTES_ATTRIBUTE] == len(envelope)
    assert at_gateway.attributes[CLEAR_ATTRIBUTE] == "department (in the path); the citizen's session (pseudonym)"
    courier = _server(spans, "rights/fines", "/courier")
    to_fines = next(s for s in spans if _span_id(s) == _parent_id(courier))
    assert to_fines.kind.name == "CLIENT" and _parent_id(to_fines) == _span_id(at_gateway)
    assert courier.attributes[OPENED_ATTRIBUTE] == "GET /me/fines"
    assert courier.attributes[CLEAR_ATTRIBUTE] == "service token of gateway; opened GET /me/fines"
    inner = _server(spans, "rights/fines", "/me/fines")
    assert _parent_id(inner) == _span_id(courier)  # the department called itself with what it opened
    assert inner.attributes[CLEAR_ATTRIBUTE] == "the citizen's own token (pseudonym)"
    # the gateway's spans say how much it carried, never where the sealed request went inside
    of_gateway = [s for s in spans if service_of(s) == "rights/gateway"]
    assert of_gateway and all("/me/" not in str(v) for s in of_gateway for v in _attributes(s).values())
    assert all(span.context.trace_id == int(trace_id, 16) for span in spans)


def test_without_an_otlp_endpoint_no_provider_and_no_exporter_exist(tmp_path):
    app = create_fines_app(FinesSettings(regime=Regime.RIGHTS, data_dir=tmp_path / "fines"))
    tracing = state_of(app, ServiceState).tracing
    tracing.start()
    assert tracing.tracer is None and tracing.provider is None
    tracing.stop()


def test_with_an_otlp_endpoint_the_app_exports_with_a_batch_processor_and_stops_it(tmp_path):
    settings = FinesSettings(
        regime=Regime.PLATFORM, data_dir=tmp_path / "fines", otlp_endpoint="http://127.0.0.1:9/v1/traces"
    )
    tracing = state_of(create_fines_app(settings), ServiceState).tracing
    assert isinstance(tracing, Tracing) and tracing.otlp_endpoint == "http://127.0.0.1:9/v1/traces"
    tracing.start()
    assert tracing.provider is not None
    assert tracing.provider.resource.attributes["service.name"] == "platform/fines"
    processors = tracing.provider._active_span_processor._span_processors
    assert [type(p).__name__ for p in processors] == ["BatchSpanProcessor"]
    tracing.stop()
    assert tracing.tracer is None


def test_the_endpoint_comes_from_the_services_own_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("CITYGATE_FINES_OTLP_ENDPOINT", "http://127.0.0.1:8000/v1/traces")
    assert FinesSettings(regime=Regime.RIGHTS, data_dir=tmp_path).otlp_endpoint == "http://127.0.0.1:8000/v1/traces"
