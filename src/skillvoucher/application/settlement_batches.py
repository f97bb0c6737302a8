"""Settlement batches after they are built: approve (twice, by two people, when large),
publish for public notice, export the payment file, mark paid once the notice is over, and
reconcile batches, lines and ledger."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from skillvoucher.application.context import AppContext
from skillvoucher.application.fund_transfers import ApproverNotIndependent
from skillvoucher.domain.access import Scope
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.errors import (
    DisputeOpen,
    IllegalTransition,
    InstitutionSuspended,
    NotFound,
)
from skillvoucher.domain.ledger import JournalKind, Movement
from skillvoucher.domain.money import yuan_string
from skillvoucher.domain.settlement import (
    EXPORTABLE,
    BatchStatus,
    BatchStep,
    approval_step,
    check_notice_over,
    next_batch_status,
    notice_until,
)
from skillvoucher.domain.timekeeping import show
from skillvoucher.persistence.tables import SettlementBatch
from skillvoucher.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class BatchSummary:
    batch_id: uuid.UUID
    institution_code: str
    institution_name: str
    period_start: date
    period_end: date
    status: BatchStatus
    total_fen: int
    line_count: int
    notice_until: datetime | None  # published: payable from this instant on


def batch_summary(uow: UnitOfWork, batch: SettlementBatch) -> BatchSummary:
    institution = uow.settlement.institution_of(batch)
    return BatchSummary(
        batch.id,
        institution.credit_code,
        institution.name,
        batch.period_start,
        batch.period_end,
        batch.status,
        batch.total_fen,
        batch.line_count,
        batch.notice_until,
    )


def _batch(uow: UnitOfWork, batch_id: uuid.UUID, scope: Scope | None = None) -> SettlementBatch:
    # Outside the scope, a batch is as unknown as a missing one: the same words for both.
    batch = (
        uow.settlement.batch(batch_id)
        if scope is None
        else uow.settlement.batch_within(batch_id, scope)
    )
    if batch is None:
        raise NotFound(f"settlement batch {batch_id} is not known")
    return batch


def _payable_batch(
    uow: UnitOfWork, batch_id: uuid.UUID, scope: Scope | None = None
) -> SettlementBatch:
    """The batch, refused while its institution is suspended and the batch is unpaid: no
    unpaid money moves on (re-exporting a paid batch's row moves none)."""
    batch = _batch(uow, batch_id, scope)
    institution = uow.settlement.institution_of(batch)
    suspended = institution.approval_status is ApprovalStatus.SUSPENDED
    if suspended and batch.status is not BatchStatus.PAID:
        raise InstitutionSuspended(
            f"institution {institution.credit_code} is suspended: "
            f"batch {batch_id} waits until it is reinstated"
        )
    return batch


def _refuse_if_disputed(uow: UnitOfWork, batch: SettlementBatch) -> None:
    """No money of a batch moves on while a dispute or an objection concerning it is open."""
    if batch.status is BatchStatus.PAID:
        return  # re-exporting a paid batch's row moves nothing
    held = uow.disputes.holding_batch(batch.id)
    if held is not None:
        raise DisputeOpen(
            f"batch {batch.id} waits: dispute {held.id} ({held.subject_kind.value}) is open"
        )


def approve_batch(
    ctx: AppContext, batch_id: uuid.UUID, approver: str, scope: Scope | None = None
) -> BatchSummary:
    """Approve a batch. Below the four-eyes amount one approval is enough; from it on, the
    first approval leaves the batch approved once and another person's approval completes it."""
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        batch = _payable_batch(uow, batch_id, scope)
        _refuse_if_disputed(uow, batch)
        step = approval_step(
            batch.status, batch.total_fen, ctx.settings.settlement_second_approval_fen
        )
        after = next_batch_status(batch.status, step)
        if step is BatchStep.SECOND_APPROVAL:
            if approver == batch.approved_by:
                raise ApproverNotIndependent("the second approval must come from another person")
            values = {"second_approved_at": now, "second_approved_by": approver}
        else:
            values = {"approved_at": now, "approved_by": approver}
        # On the status read: of two approvers racing for the same step, one wins.
        if not uow.settlement.move_batch(batch_id, batch.status, after, **values):
            raise _changed_meanwhile(batch_id)
        payload: dict[str, object] = {"total_fen": batch.total_fen}
        if step is BatchStep.SECOND_APPROVAL:
            payload["first_approver"] = batch.approved_by
        uow.audit.record(
            at=now,
            actor=approver,
            action=(
                "settlement.batch_approved_once"
                if after is BatchStatus.APPROVED_ONCE
                else "settlement.batch_approved"
            ),
            entity_type="settlement_batch",
            entity_id=batch_id,
            region_code=batch.region_code,
            payload=payload,
        )
        uow.commit()
        uow.session.refresh(batch)
        return batch_summary(uow, batch)


def publish_batch(ctx: AppContext, batch_id: uuid.UUID, scope: Scope | None = None) -> BatchSummary:
    """Put an approved batch on public notice for the configured number of days; it may be
    exported at once and paid once the notice is over."""
    now = ctx.clock()
    until = notice_until(now, ctx.settings.settlement_notice_days)
    with ctx.unit_of_work() as uow:
        batch = _payable_batch(uow, batch_id, scope)
        after = next_batch_status(batch.status, BatchStep.PUBLISH)
        if not uow.settlement.move_batch(
            batch_id,
            batch.status,
            after,
            published_at=now,
            published_by=ctx.actor,
            notice_until=until,
        ):
            raise _changed_meanwhile(batch_id)
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="settlement.batch_published",
            entity_type="settlement_batch",
            entity_id=batch_id,
            region_code=batch.region_code,
            payload={"total_fen": batch.total_fen, "notice_until": until.isoformat()},
        )
        uow.commit()
        uow.session.refresh(batch)
        return batch_summary(uow, batch)


def mark_batch_paid(
    ctx: AppContext, batch_id: uuid.UUID, payment_reference: str, scope: Scope | None = None
) -> BatchSummary:
    """The treasury paid the batch: every line's payable moves to paid, per voucher. Only a
    published batch whose notice is over may be paid."""
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        batch = _payable_batch(uow, batch_id, scope)
        _refuse_if_disputed(uow, batch)
        after = next_batch_status(batch.status, BatchStep.PAY)
        check_notice_over(batch.notice_until, now)
        if not uow.settlement.move_batch(
            batch_id,
            batch.status,
            after,
            paid_at=now,
            payment_reference=payment_reference,
        ):
            raise _changed_meanwhile(batch_id)
        uow.ledger.post_many(
            [
                Movement(
                    JournalKind.PAID,
                    line.amount_fen,
                    line.region_code,
                    scheme_id=line.scheme_id,
                    voucher_id=line.voucher_id,
                    institution_id=batch.institution_id,
                    settlement_batch_id=batch_id,
                )
                for line in uow.settlement.lines(batch_id)
                if line.amount_fen > 0 and line.withheld_at is None
            ],
            now,
        )
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="settlement.batch_paid",
            entity_type="settlement_batch",
            entity_id=batch_id,
            region_code=batch.region_code,
            payload={"total_fen": batch.total_fen, "reference": payment_reference},
        )
        uow.commit()
        uow.session.refresh(batch)
        return batch_summary(uow, batch)


def _changed_meanwhile(batch_id: uuid.UUID) -> IllegalTransition:
    return IllegalTransition(f"batch {batch_id} changed meanwhile; read it again")


PAYMENT_FILE_COLUMNS = (
    "batch_id",
    "institution_credit_code",
    "institution_name",
    "period_start",
    "period_end",
    "lines",
    "amount_fen",
    "amount_yuan",
    "approved_by",
    "approved_at",
    "second_approved_by",
    "notice_until",
)


def export_payment_file(ctx: AppContext, batch_ids: list[uuid.UUID], path: Path) -> int:
    """Write the CSV the treasury pays from; only published (or paid) batches go in."""
    rows = payment_file_rows(ctx, batch_ids)
    with path.open("w", newline="", encoding="utf-8") as handle:
        write_payment_file(handle, rows)
    return len(rows)


def write_payment_file(handle: TextIO, rows: Sequence[Sequence[object]]) -> None:
    writer = csv.writer(handle)
    writer.writerow(PAYMENT_FILE_COLUMNS)
    writer.writerows(rows)


def payment_file_rows(
    ctx: AppContext, batch_ids: Sequence[uuid.UUID], scope: Scope | None = None
) -> list[list[object]]:
    """One row per batch, in the order asked; every batch published (or paid) and, with
    ``scope``, within it."""
    with ctx.unit_of_work() as uow:
        rows: list[list[object]] = []
        for batch_id in batch_ids:
            batch = _payable_batch(uow, batch_id, scope)
            _refuse_if_disputed(uow, batch)
            if batch.status not in EXPORTABLE:
                raise IllegalTransition(
                    f"batch {batch_id} is {batch.status.value}: "
                    "only published batches go into a payment file"
                )
            institution = uow.settlement.institution_of(batch)
            rows.append(
                [
                    str(batch.id),
                    institution.credit_code,
                    institution.name,
                    batch.period_start.isoformat(),
                    batch.period_end.isoformat(),
                    batch.line_count,
                    batch.total_fen,
                    yuan_string(batch.total_fen),
                    batch.approved_by or "",
                    show(batch.approved_at),
                    batch.second_approved_by or "",
                    show(batch.notice_until),
                ]
            )
            # Who took money instructions out of the system, and when, is part of the trail.
            uow.audit.record(
                at=ctx.clock(),
                actor=ctx.actor,
                action="settlement.payment_file_exported",
                entity_type="settlement_batch",
                entity_id=batch.id,
                region_code=batch.region_code,
                payload={"total_fen": batch.total_fen},
            )
        uow.commit()
    return rows


@dataclass(frozen=True)
class ReconciliationRow:
    batch_id: uuid.UUID
    status: BatchStatus
    total_fen: int
    lines_fen: int
    withheld_fen: int  # lines of clawed-back vouchers: never paid
    payable_posted_fen: int
    paid_posted_fen: int

    @property
    def agrees(self) -> bool:
        paid_in_full = self.total_fen - self.withheld_fen
        expected_paid = paid_in_full if self.status is BatchStatus.PAID else 0
        return (
            self.total_fen == self.lines_fen == self.payable_posted_fen
            and self.paid_posted_fen == expected_paid
        )


def reconcile(ctx: AppContext) -> list[ReconciliationRow]:
    """Tie each batch's total to its lines and to what the ledger posted for it."""
    with ctx.unit_of_work() as uow:
        lines = uow.settlement.line_totals()
        posted = uow.settlement.posted_totals()
        return [
            ReconciliationRow(
                b.id,
                b.status,
                b.total_fen,
                *lines.get(b.id, (0, 0)),
                posted.get((b.id, JournalKind.PAYABLE), 0),
                posted.get((b.id, JournalKind.PAID), 0),
            )
            for b in uow.settlement.batches()
        ]


def list_batches(ctx: AppContext, status: BatchStatus | None = None) -> list[BatchSummary]:
    with ctx.unit_of_work() as uow:
        return [batch_summary(uow, b) for b in uow.settlement.batches(status)]
