"""Prometheus metrics: requests and latency per route template, answers per category.

Labels are route templates (`/v1/citizens/{customer_id}`), never paths: no identity reaches
the metrics.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.follow_failed = Gauge(
            "segmentation_model_follow_failed",
            "1 while a population's champion version could not be loaded",
            ["population"],
            registry=self.registry,
        )
        # Labelled children, looked up once and kept: a `labels()` call costs microseconds
        # on every request otherwise.
        self._children: dict[tuple[Any, ...], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def answer(self, population: str, category: str) -> None:
        """Count one answer."""
        self.child(self.answers, population, category).inc()


#: Methods counted by name; anything else a client invents is counted as OTHER (labels must
#: stay few).
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})


class MetricsMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on a microsecond hot path)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

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
            metrics = self.metrics
            metrics.child(metrics.requests, route, method, str(status)).inc()
            metrics.child(metrics.latency, route).observe(time.perf_counter() - started)
