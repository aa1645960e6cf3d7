"""``GET /metrics`` (issue 17, operators' view): requests, latency and errors per route template, in
Prometheus's text format, for the service's own operators only; labels that no request can grow."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kernel.access import audience_of
from kernel.regime import Regime
from tests.fixtures.matrix import SQLITE_ONLY
from tests.fixtures.operators import operator
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import service_bearer

pytestmark = [pytest.mark.regimes(Regime.PLATFORM), SQLITE_ONLY, pytest.mark.started("fines")]

SOMEONES_SUBJECT = "110101199003070000"


def samples(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    }


async def test_the_operator_reads_requests_latency_and_errors_per_route_template(mesh):
    reader = service_bearer(mesh, "fines:read", audience=audience_of("fines"))
    async with mesh.client("fines") as fines:
        for _ in range(2):
            assert (await fines.get("/healthz")).status_code == 200
        assert (await fines.get(f"/citizens/{SOMEONES_SUBJECT}/fines", headers=reader)).status_code == 200
        assert (await fines.get("/no/such/route")).status_code == 404
        await fines.request("BREW", "/healthz")  # any method a client likes: counted, not labelled
        answer = await fines.get("/metrics", headers=operator(mesh, "fines"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    requests = samples(answer.text, "citygate_http_requests_total")
    assert requests[(("method", "GET"), ("route", "/healthz"), ("status", "200"))] == 2
    assert requests[(("method", "GET"), ("route", "/citizens/{subject}/fines"), ("status", "200"))] == 1
    assert requests[(("method", "GET"), ("route", "(no route)"), ("status", "404"))] == 1
    assert any(dict(labels)["method"] == "OTHER" for labels in requests)
    latency = samples(answer.text, "citygate_http_request_duration_seconds_count")
    assert latency[(("method", "GET"), ("route", "/healthz"))] == 2
    # the template, never what was in the path
    assert SOMEONES_SUBJECT not in answer.text and "/no/such/route" not in answer.text and "BREW" not in answer.text


async def test_only_the_services_operators_read_the_metrics(mesh):
    async with mesh.client("fines") as fines:
        for headers in (
            {},
            service_bearer(mesh, "fines:read", audience=audience_of("fines")),
            operator(mesh, "credit"),
        ):
            assert_problem(await fines.get("/metrics", headers=headers), 401, "operator-unauthenticated")


@pytest.mark.regimes(Regime.RIGHTS)
@pytest.mark.started("consent")
async def test_the_consent_service_counts_its_ledger(mesh):
    ledger = mesh.apps["consent"].state.service.consent_book.ledger
    for n in range(3):
        ledger.append(f"entry {n}".encode())
    async with mesh.client("consent") as client:
        answer = await client.get("/metrics", headers=operator(mesh, "consent"))
    assert samples(answer.text, "citygate_ledger_entries") == {(): 3.0} and ledger.size() == 3
