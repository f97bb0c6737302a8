"""Prometheus metrics: requests and their latency per route template (never the raw URL, which
could carry identifiers), in a registry of the app's own so that apps never share state."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

UNMATCHED = "unmatched"


def _route_template(request: Request) -> str:
    # The router records the route it matched in the scope; unmatched paths share one label.
    route = request.scope.get("route")
    return str(getattr(route, "path", UNMATCHED))


def install_metrics(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "skillvoucher_http_requests",
        "HTTP requests answered, by route template and status.",
        ("method", "route", "status"),
        registry=registry,
    )
    latency = Histogram(
        "skillvoucher_http_request_duration_seconds",
        "Time to answer an HTTP request, by route template.",
        ("method", "route"),
        registry=registry,
    )

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        latency.labels(request.method, route).observe(time.perf_counter() - started)
        requests.labels(request.method, route, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
