"""Prometheus metrics: requests and latency per route template, answers per category.

Labels are route templates (`/v1/citizens/{customer_id}`), never paths: no identity reaches
the metrics.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "segmentation_requests_total",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "segmentation_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.answers = Counter(
            "segmentation_answers_total",
            "Answers per category",
            ["population", "category"],
            registry=self.registry,
        )
        self._answer_children: dict[tuple[str, str], Any] = {}

    def answer(self, population: str, category: str) -> None:
        """Count one answer (the labelled child is looked up once and kept)."""
        key = (population, category)
        child = self._answer_children.get(key)
        if child is None:
            child = self._answer_children[key] = self.answers.labels(population, category)
        child.inc()


#: Methods counted by name; anything else a client invents is counted as OTHER (labels must
#: stay few).
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})


class MetricsMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on a microsecond hot path)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled children, looked up once per (route, method, status) and kept: a
        # `labels()` call costs microseconds on every request otherwise.
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._histograms: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            key = (route, method, str(status))
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = self.metrics.requests.labels(*key)
            histogram = self._histograms.get(route)
            if histogram is None:
                histogram = self._histograms[route] = self.metrics.latency.labels(route)
            counter.inc()
            histogram.observe(time.perf_counter() - started)
