"""The first answers to mutating requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.ids import new_id
from skillvoucher.persistence.repositories.dialect import plain_update, rows_changed, upsert_insert
from skillvoucher.persistence.tables import IdempotencyRecord


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def claim(
        self, principal: str, key: str, request_digest: str, now: datetime
    ) -> uuid.UUID | None:
        """Insert a pending record for (principal, key); None when one exists already.

        INSERT … ON CONFLICT DO NOTHING: of many concurrent first attempts exactly one wins,
        on either database, without an exception to recover from."""
        stmt = (
            upsert_insert(self._session, IdempotencyRecord)
            .values(
                id=new_id(),
                principal=principal,
                key=key,
                request_digest=request_digest,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["principal", "key"])
            .returning(IdempotencyRecord.id)
        )
        # RETURNING, not rowcount: psycopg reports no rowcount for this statement.
        claimed: uuid.UUID | None = self._session.scalar(stmt)
        return claimed

    def find(self, principal: str, key: str) -> IdempotencyRecord | None:
        stmt = sa.select(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
        )
        return self._session.scalar(stmt)

    def complete(
        self,
        record_id: uuid.UUID,
        status: int,
        body: bytes,
        content_type: str | None,
        now: datetime,
    ) -> None:
        stmt = (
            plain_update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(
                status_code=status, response_body=body, content_type=content_type, completed_at=now
            )
        )
        self._session.execute(stmt)

    def release(self, record_id: uuid.UUID) -> None:
        self._session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))

    def take_over(self, record_id: uuid.UUID, stale_before: datetime, now: datetime) -> bool:
        """Restart a pending record abandoned before ``stale_before`` (its process died)."""
        stmt = (
            plain_update(IdempotencyRecord)
            .where(
                IdempotencyRecord.id == record_id,
                IdempotencyRecord.completed_at.is_(None),
                IdempotencyRecord.created_at < stale_before,
            )
            .values(created_at=now)
        )
        return rows_changed(self._session, stmt) == 1

    def purge_before(self, moment: datetime) -> int:
        stmt = sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < moment)
        return rows_changed(self._session, stmt)
