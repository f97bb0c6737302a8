"""The app factory. The app keeps one application context (engine, key store) for its life."""

from __future__ import annotations

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


def create_app(context: AppContext) -> FastAPI:
    """An app serving ``context``; the caller owns the context and closes it."""

    # /docs with Swagger UI served from the package, not a CDN: it works offline.
    app = FastAPIOffline(
        title="skillvoucher",
        version=__version__,
        summary="Electronic vocational-training vouchers 职业技能培训券",
        responses=PROBLEM_RESPONSES,
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
