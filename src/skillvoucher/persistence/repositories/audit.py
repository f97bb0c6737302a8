from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.regions import NATIONWIDE, province_code
from skillvoucher.persistence.repositories.dialect import bulk_insert
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import AuditEvent


@dataclass(frozen=True)
class AuditQuery:
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        entity_type: str,
        entity_id: object,
        region_code: str,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.record_many(
            [
                {
                    "occurred_at": at,
                    "actor": actor,
                    "action": action,
                    "entity_type": entity_type,
                    "entity_id": str(entity_id),
                    "region_code": region_code,
                    "payload": payload or {},
                }
            ]
        )

    def record_many(self, events: Iterable[dict[str, Any]]) -> None:
        rows = [
            {**e, "id": new_id(), "province_code": _province_of(e["region_code"])} for e in events
        ]
        if rows:
            bulk_insert(self._session, AuditEvent, rows)

    def for_entity(self, entity_type: str, entity_id: object) -> list[AuditEvent]:
        stmt = (
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
        return list(self._session.scalars(stmt))

    def page(
        self, scope: Scope, query: AuditQuery, before: uuid.UUID | None, limit: int
    ) -> list[AuditEvent]:
        """Events within ``scope`` matching ``query``, most recently recorded first.

        Nationwide events (region 000000) fall within a nationwide scope only.
        """
        stmt = within_scope(
            sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit),
            scope,
            region=AuditEvent.region_code,
        )
        for column, wanted in (
            (AuditEvent.entity_type, query.entity_type),
            (AuditEvent.entity_id, query.entity_id),
            (AuditEvent.action, query.action),
            (AuditEvent.actor, query.actor),
        ):
            if wanted is not None:
                stmt = stmt.where(column == wanted)
        if query.since is not None:
            stmt = stmt.where(AuditEvent.occurred_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(AuditEvent.occurred_at < query.until)
        if before is not None:
            stmt = stmt.where(AuditEvent.id < before)
        return list(self._session.scalars(stmt))

    def count(self) -> int:
        return self._session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0


def _province_of(region_code: str) -> str:
    return NATIONWIDE if region_code == NATIONWIDE else province_code(region_code)
