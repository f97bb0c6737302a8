"""Liveness with a real database check: a load balancer should stop sending to a sick node."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from skillvoucher.api.dependencies import Context
from skillvoucher.domain.errors import DomainError
from skillvoucher.persistence import migrate

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(ctx: Context) -> JSONResponse:
    """`ok` when the database answers and its schema is current; 503 otherwise."""
    try:
        migrate.require_current(ctx.engine)
    except DomainError:
        return JSONResponse({"status": "unavailable", "database": "schema not current"}, 503)
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "database": ctx.engine.dialect.name})
