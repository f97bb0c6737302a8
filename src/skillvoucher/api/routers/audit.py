"""The audit trail: every state change and who made it, within the caller's region scope."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, BeforeValidator

from skillvoucher.api.auth import Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.application.audit_views import AuditLine, AuditQuery, audit_events_for
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal

# ISO 8601 only: pydantic would otherwise read "0.5" as seconds since 1970 (the fuzzer saw it).
IsoMoment = Annotated[
    AwareDatetime,
    BeforeValidator(lambda v: v if not isinstance(v, str) or _ISO.match(v) else _not_iso(v)),
]
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _not_iso(value: str) -> None:
    raise ValueError("give an ISO 8601 moment with its offset, e.g. 2026-12-04T08:00:00+08:00")


router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditPage(BaseModel):
    items: list[AuditLine]
    next_cursor: str | None


@router.get("/audit-events", response_model=AuditPage)
def audit_events(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.AUDIT_READ)],
    entity_type: Annotated[str | None, Query(max_length=30)] = None,
    entity_id: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    actor: Annotated[str | None, Query(max_length=80, description="e.g. staff:<username>")] = None,
    since: Annotated[IsoMoment | None, Query(description="From this moment on.")] = None,
    until: Annotated[IsoMoment | None, Query(description="Before this moment.")] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> AuditPage:
    """Audit events of the regions within the caller's scope, most recently recorded first;
    nationwide events (region `000000`) only for a nationwide scope. Follow `next_cursor`
    for older events."""
    query = AuditQuery(entity_type, entity_id, action, actor, since, until)
    page = audit_events_for(ctx, caller, query, cursor, limit)
    return AuditPage(items=page.items, next_cursor=page.next_cursor)
