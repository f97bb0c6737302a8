"""Set-wise statements of the year-end expiry: cut a span of due vouchers, then close it.

A span is a range of voucher ids, (``after``, ``last``]. Both statements reach the vouchers
through the primary key's range, never by a list of ids: an ``id IN (subquery)`` was planned
as a scan of every issued voucher for each chunk (84,000 rows at a twentieth of the pilot,
EXPLAIN ANALYZE 2026-12-05), a range is read off the index.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.bulk_copy import copies
from skillvoucher.persistence.repositories.dialect import plain_update
from skillvoucher.persistence.tables import Voucher


class Closed(NamedTuple):
    """A voucher the expiry closed: its id (text on PostgreSQL, see ``close_span``), scheme,
    region and face value."""

    voucher_id: uuid.UUID | str
    scheme_id: uuid.UUID
    region_code: str
    face_value_fen: int


class DueVouchers:
    def __init__(self, session: Session) -> None:
        self._session = session

    def draw_span(
        self, now: datetime, source: VoucherStatus, after: uuid.UUID | str | None, limit: int
    ) -> tuple[uuid.UUID | None, int]:
        """The last id and the count of the first ``limit`` vouchers in ``source`` past their
        validity after ``after`` (by id): one row back, not the ids."""
        first = (
            sa.select(Voucher.id)
            .where(Voucher.status == source, Voucher.valid_until < now)
            .order_by(Voucher.id)
            .limit(limit)
        )
        if after is not None:
            first = first.where(Voucher.id > after)
        drawn = first.subquery()
        # The highest id with the count alongside (PostgreSQL has no max() of a uuid).
        found = self._session.execute(
            sa.select(drawn.c.id, sa.func.count().over()).order_by(drawn.c.id.desc()).limit(1)
        ).first()
        return (None, 0) if found is None else (found[0], int(found[1]))

    def close_span(
        self,
        now: datetime,
        source: VoucherStatus,
        target: VoucherStatus,
        after: uuid.UUID | str | None,
        last: uuid.UUID | str,
    ) -> list[Closed]:
        """Move the vouchers of (``after``, ``last``] still in ``source`` and past their validity
        to ``target``, in one statement; returns those it moved.

        Ids come back as text on PostgreSQL: they go straight into the release journal's COPY
        and the audit event's range (canonical text sorts as the UUIDs do), and text skips
        making and spelling a ``uuid.UUID`` per voucher."""
        returned_id: sa.ColumnElement[Any] = (
            sa.cast(Voucher.id, sa.Text) if copies(self._session) else Voucher.id.expression
        )
        stmt = (
            plain_update(Voucher)
            .where(Voucher.id <= last, Voucher.status == source, Voucher.valid_until < now)
            .values(status=target, closed_at=now, version=Voucher.version + 1)
            .returning(returned_id, Voucher.scheme_id, Voucher.region_code, Voucher.face_value_fen)
        )
        if after is not None:
            stmt = stmt.where(Voucher.id > after)
        return [Closed(*row) for row in self._session.execute(stmt)]
