"""Prometheus metrics of one service, at ``GET /metrics`` for its own operators (issue 17, operators'
view): requests answered and their latency, per route template, method and status (5xx are the errors).

Labels are bounded, so no request can grow them: the route is its template (``/vehicles/{plate}/fines``,
never the plate), an unusual method is ``OTHER``, a status is a number. Each app has its own registry
(the tests run many apps in one process); the figures are the process's own, as Prometheus expects of
one scrape target per process.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# the methods a route can be declared for; anything else a client sends is counted as OTHER
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# seconds: from a cached read to a department call that times out (5 s)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
EXPOSITION_MEDIA_TYPE = CONTENT_TYPE_LATEST


class RequestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._gauges: set[str] = set()
        self._requests = Counter(
            "citygate_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "citygate_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def add_gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A figure of the service's own (the ledger's size), read at each scrape (on a worker thread:
        ``read`` may ask the database). Once per name: an app started again keeps its gauge."""
        if name not in self._gauges:
            self._gauges.add(name)
            Gauge(name, documentation, registry=self.registry).set_function(read)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else "OTHER"
        self._requests.labels(route, method, str(status)).inc()
        self._latency.labels(route, method).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)
