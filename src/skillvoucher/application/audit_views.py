"""The audit trail as a principal may read it: the events of the regions within its scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.errors import InvalidInput
from skillvoucher.persistence.repositories.audit import AuditQuery

__all__ = ["AuditLine", "AuditQuery", "audit_events_for"]  # the filter is the API's too


@dataclass(frozen=True)
class AuditLine:
    event_id: uuid.UUID
    occurred_at: datetime
    region_code: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    payload: dict[str, Any]


def audit_events_for(
    ctx: AppContext, principal: Principal, query: AuditQuery, cursor: str | None, limit: int
) -> Page[AuditLine]:
    """Matching events within the principal's scope, most recently recorded first."""
    principal.require(Permission.AUDIT_READ)
    check_limit(limit)
    if query.since is not None and query.until is not None and query.until <= query.since:
        raise InvalidInput("until must be later than since")
    with ctx.unit_of_work() as uow:
        rows = uow.audit.page(principal.scope, query, cursor_id(cursor), limit + 1)
        lines = [
            AuditLine(
                e.id,
                e.occurred_at,
                e.region_code,
                e.actor,
                e.action,
                e.entity_type,
                e.entity_id,
                e.payload,
            )
            for e in rows
        ]
    return page_of(lines, limit, lambda line: line.event_id)
