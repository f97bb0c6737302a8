"""Settlement batches on public notice (公示): what the bureau is about to pay whom, for anyone
to read and object to before the money moves. Institutions and amounts only: no trainee."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.regions import code_prefix, validate_region_code
from skillvoucher.persistence.tables import Institution, SettlementBatch


@dataclass(frozen=True)
class NoticeLine:
    batch_id: uuid.UUID
    region_code: str
    institution_credit_code: str
    institution_name: str
    period_start: date
    period_end: date
    line_count: int
    total_fen: int
    published_at: datetime
    notice_until: datetime
    """Objections are heard until this moment; the batch may be paid from it on."""


def settlement_notices(
    ctx: AppContext, region_code: str | None, cursor: str | None, limit: int
) -> Page[NoticeLine]:
    """Batches whose notice is running now, newest first, within a region if one is named."""
    check_limit(limit)
    prefix = code_prefix(validate_region_code(region_code)) if region_code else ""
    with ctx.unit_of_work() as uow:
        found = uow.settlement.on_notice(ctx.clock(), prefix, cursor_id(cursor), limit + 1)
    lines = [_line(batch, institution) for batch, institution in found]
    return page_of(lines, limit, lambda line: line.batch_id)


def _line(batch: SettlementBatch, institution: Institution) -> NoticeLine:
    # A published batch has both moments by construction (publish_batch sets them together).
    assert batch.published_at is not None
    assert batch.notice_until is not None
    return NoticeLine(
        batch_id=batch.id,
        region_code=batch.region_code,
        institution_credit_code=institution.credit_code,
        institution_name=institution.name,
        period_start=batch.period_start,
        period_end=batch.period_end,
        line_count=batch.line_count,
        total_fen=batch.total_fen,
        published_at=batch.published_at,
        notice_until=batch.notice_until,
    )
