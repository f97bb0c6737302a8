"""Prometheus metrics: requests and their latency per route template (never the raw URL, which
could carry identifiers), in a registry of the app's own so that apps never share state."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"


def _route_template(scope: Scope) -> str:
    # The router records the route it matched in the scope; unmatched paths share one label.
    route = scope.get("route")
    return str(getattr(route, "path", UNMATCHED))


class MetricsMiddleware:
    """A pure ASGI middleware: it only watches the answer's status go by. (Starlette's
    ``BaseHTTPMiddleware``, behind ``@app.middleware``, runs the app in a task of its own and
    streams the answer through memory channels: a few hundred microseconds of every request.)"""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # An exception passes by unrecorded: the server's error handler, further out, answers.
        await self.app(scope, receive, watching)
        route = _route_template(scope)
        method = scope["method"]
        self.latency.labels(method, route).observe(time.perf_counter() - started)
        self.requests.labels(method, route, str(status)).inc()


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
    app.add_middleware(MetricsMiddleware, requests=requests, latency=latency)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
