"""Settlement as a signed-in principal does it: build, read, approve, publish, export and mark
paid, limited to the institutions within the principal's scope. A batch outside the scope
answers exactly like a batch that does not exist."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.application.settlement import SettlementRun, run_settlement
from skillvoucher.application.settlement_batches import (
    BatchSummary,
    approve_batch,
    batch_summary,
    mark_batch_paid,
    payment_file_rows,
    publish_batch,
    write_payment_file,
)
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.settlement import BatchStatus, Evidence


@dataclass(frozen=True)
class StageTotal:
    stage_index: int
    evidence: Evidence
    lines: int
    amount_fen: int
    withheld_fen: int  # lines of clawed-back vouchers: never paid


@dataclass(frozen=True)
class BatchDetails:
    summary: BatchSummary
    region_code: str
    created_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    second_approved_at: datetime | None
    second_approved_by: str | None
    published_at: datetime | None
    published_by: str | None
    paid_at: datetime | None
    payment_reference: str | None
    stages: list[StageTotal]


def build_settlement(
    ctx: AppContext,
    principal: Principal,
    period_start: date,
    period_end: date,
    institution_id: uuid.UUID | None = None,
) -> SettlementRun:
    """Draft batches for the period, for the institutions within the principal's scope (or
    the one named, if it is within it)."""
    principal.require(Permission.SETTLEMENT_BUILD)
    institution_code = None
    if institution_id is not None:
        with ctx.unit_of_work() as uow:
            institution = uow.settlement.institution_within(institution_id, principal.scope)
            if institution is None:
                raise NotFound(f"institution {institution_id} is not known")
            institution_code = institution.credit_code
    return run_settlement(
        ctx.acting_as(principal.label),
        period_start,
        period_end,
        institution_code,
        scope=principal.scope,
    )


def batches_for(
    ctx: AppContext,
    principal: Principal,
    status: BatchStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[BatchSummary]:
    """Batches within the principal's scope, newest first."""
    principal.require(Permission.SETTLEMENT_READ)
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        rows = uow.settlement.batches_page(principal.scope, status, cursor_id(cursor), limit + 1)
        summaries = [batch_summary(uow, b) for b in rows]
    return page_of(summaries, limit, lambda s: s.batch_id)


def batch_details(ctx: AppContext, principal: Principal, batch_id: uuid.UUID) -> BatchDetails:
    principal.require(Permission.SETTLEMENT_READ)
    with ctx.unit_of_work() as uow:
        batch = uow.settlement.batch_within(batch_id, principal.scope)
        if batch is None:
            raise NotFound(f"settlement batch {batch_id} is not known")
        return BatchDetails(
            summary=batch_summary(uow, batch),
            region_code=batch.region_code,
            created_at=batch.created_at,
            approved_at=batch.approved_at,
            approved_by=batch.approved_by,
            second_approved_at=batch.second_approved_at,
            second_approved_by=batch.second_approved_by,
            published_at=batch.published_at,
            published_by=batch.published_by,
            paid_at=batch.paid_at,
            payment_reference=batch.payment_reference,
            stages=[StageTotal(*row) for row in uow.settlement.line_summary(batch_id)],
        )


def approve_within(ctx: AppContext, principal: Principal, batch_id: uuid.UUID) -> BatchSummary:
    """Approve a batch within the principal's scope; the principal is the approver (the
    second one, for a large batch approved once by someone else)."""
    principal.require(Permission.SETTLEMENT_APPROVE)
    return approve_batch(ctx, batch_id, principal.label, scope=principal.scope)


def publish_within(ctx: AppContext, principal: Principal, batch_id: uuid.UUID) -> BatchSummary:
    """Put an approved batch within the principal's scope on public notice."""
    principal.require(Permission.SETTLEMENT_APPROVE)
    return publish_batch(ctx.acting_as(principal.label), batch_id, scope=principal.scope)


def mark_paid_within(
    ctx: AppContext, principal: Principal, batch_id: uuid.UUID, payment_reference: str
) -> BatchSummary:
    principal.require(Permission.SETTLEMENT_PAY)
    return mark_batch_paid(
        ctx.acting_as(principal.label), batch_id, payment_reference, scope=principal.scope
    )


def payment_file_for(
    ctx: AppContext, principal: Principal, batch_ids: list[uuid.UUID]
) -> tuple[str, int]:
    """The payment file's CSV text and its row count; every batch published and in scope."""
    principal.require(Permission.SETTLEMENT_EXPORT)
    unique = list(dict.fromkeys(batch_ids))  # a batch asked for twice is paid once
    rows = payment_file_rows(ctx.acting_as(principal.label), unique, scope=principal.scope)
    buffer = io.StringIO(newline="")
    write_payment_file(buffer, rows)
    return buffer.getvalue(), len(rows)
