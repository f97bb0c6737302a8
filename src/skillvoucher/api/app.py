"""The app factory. The app keeps one application context (engine, key store) for its life."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from skillvoucher import __version__
from skillvoucher.api.body_limit import BodyLimitMiddleware
from skillvoucher.api.essc.provider import install_essc
from skillvoucher.api.idempotency import IdempotencyMiddleware
from skillvoucher.api.metrics import install_metrics
from skillvoucher.api.problems import PROBLEM_RESPONSES, install_problem_handlers
from skillvoucher.api.routers import (
    api_keys,
    attendance,
    audit,
    auth,
    catalogue,
    completions,
    disputes,
    enrolments,
    funds,
    health,
    issuance,
    people,
    risk,
    schemes,
    settlement,
    statistics,
    vouchers,
)
from skillvoucher.application.context import AppContext
from skillvoucher.web.install import install_web

WORKER_THREADS = 8
"""Requests whose handler (plain functions: the use cases, the sign-in lookup) runs at once.

One process runs Python one thread at a time. Past a few threads, more only queue for the
interpreter lock, and a thread holding a database row lock (an audit chain head, a holder, a
course's seats) waits for it too after every statement, so everyone else waits longer for the
row: with anyio's default of 40, 32 concurrent enrolments held the audit chain head 15 ms each
(4 statements) and took 63/s; with 8, 7 ms and 85/s, and the plain read did not slow down
(``benchmarks enrolment_http``). The requests beyond these wait on the event loop, which costs
nothing."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The limiter belongs to the event loop: set it from inside the loop that serves.
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    yield


def create_app(context: AppContext) -> FastAPI:
    """An app serving ``context``; the caller owns the context and closes it."""

    # /docs with Swagger UI served from the package, not a CDN: it works offline.
    app = FastAPIOffline(
        title="skillvoucher",
        version=__version__,
        summary="Electronic vocational-training vouchers 职业技能培训券",
        responses=PROBLEM_RESPONSES,
        lifespan=_lifespan,
    )
    app.state.context = context
    # First, so that production refuses the e-SSC simulator before anything else is built.
    install_essc(app, context.settings)
    install_problem_handlers(app)
    install_metrics(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyLimitMiddleware)  # outermost of the two: refuses before keeping
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(api_keys.router)
    app.include_router(catalogue.router)
    app.include_router(vouchers.router)
    app.include_router(issuance.router)
    app.include_router(enrolments.router)
    app.include_router(attendance.router)
    app.include_router(completions.router)
    app.include_router(people.router)
    app.include_router(schemes.router)
    app.include_router(settlement.router)
    app.include_router(funds.router)
    app.include_router(statistics.router)
    app.include_router(audit.router)
    app.include_router(risk.router)
    app.include_router(disputes.router)
    install_web(app)
    return app
