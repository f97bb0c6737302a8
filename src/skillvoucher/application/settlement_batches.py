"""Settlement batches after they are built: approve (twice, by two people, when large),
publish for public notice, export the payment file, mark paid once the notice is over, and
reconcile batches, lines and ledger."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from skillvoucher.persistence.repositories.settlement_runs import SettlementRunReads
from skillvoucher.persistence.tables import Dispute, Institution, SettlementBatch
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
    return summary_of(batch, uow.settlement.institution_of(batch))


def summary_of(batch: SettlementBatch, institution: Institution) -> BatchSummary:
    """The summary of ``batch`` as loaded (or as built), of ``institution``."""
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


def _payable_batch(
    uow: UnitOfWork, batch_id: uuid.UUID, scope: Scope | None = None
) -> tuple[SettlementBatch, Institution]:
    """The batch with its institution (read together), refused while the institution is
    suspended and the batch is unpaid: no unpaid money moves on (re-exporting a paid batch's
    row moves none)."""
    found = SettlementRunReads(uow.session).batches_with_institutions([batch_id], scope)
    if batch_id not in found:
        raise _not_known(batch_id)
    batch, institution = found[batch_id]
    _refuse_if_suspended(batch, institution)
    return batch, institution


def _unheld_payable_batch(
    uow: UnitOfWork, batch_id: uuid.UUID, scope: Scope | None = None
) -> tuple[SettlementBatch, Institution]:
    """``_payable_batch``, also refused while a dispute holds the unpaid batch; one read for
    both (and one more for the dispute's words when one does)."""
    found = SettlementRunReads(uow.session).batch_with_hold(batch_id, scope)
    if found is None:
        raise _not_known(batch_id)
    batch, institution, held_id = found
    _refuse_if_suspended(batch, institution)
    if batch.status is not BatchStatus.PAID and held_id is not None:
        _refuse_if_held(batch, uow.disputes.get(held_id))
    return batch, institution


def _not_known(batch_id: uuid.UUID) -> NotFound:
    # Outside the scope, a batch is as unknown as a missing one: the same words for both.
    return NotFound(f"settlement batch {batch_id} is not known")


def _refuse_if_suspended(batch: SettlementBatch, institution: Institution) -> None:
    suspended = institution.approval_status is ApprovalStatus.SUSPENDED
    if suspended and batch.status is not BatchStatus.PAID:
        raise InstitutionSuspended(
            f"institution {institution.credit_code} is suspended: "
            f"batch {batch.id} waits until it is reinstated"
        )


def _refuse_if_held(batch: SettlementBatch, held: Dispute | None) -> None:
    """No money of a batch moves on while a dispute or an objection concerning it is open
    (re-exporting a paid batch's row moves nothing: callers check only unpaid batches)."""
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
        batch, institution = _unheld_payable_batch(uow, batch_id, scope)
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
        # The conditional UPDATE moved it: its summary is known without reading it again.
        summary = replace(summary_of(batch, institution), status=after)
        uow.commit()
        return summary


def publish_batch(ctx: AppContext, batch_id: uuid.UUID, scope: Scope | None = None) -> BatchSummary:
    """Put an approved batch on public notice for the configured number of days; it may be
    exported at once and paid once the notice is over."""
    now = ctx.clock()
    until = notice_until(now, ctx.settings.settlement_notice_days)
    with ctx.unit_of_work() as uow:
        batch, institution = _payable_batch(uow, batch_id, scope)
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
        summary = replace(summary_of(batch, institution), status=after, notice_until=until)
        uow.commit()
        return summary


def mark_batch_paid(
    ctx: AppContext, batch_id: uuid.UUID, payment_reference: str, scope: Scope | None = None
) -> BatchSummary:
    """The treasury paid the batch: every line's payable moves to paid, per voucher. Only a
    published batch whose notice is over may be paid."""
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        batch, institution = _unheld_payable_batch(uow, batch_id, scope)
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
                    amount_fen,
                    region_code,
                    scheme_id=scheme_id,
                    voucher_id=voucher_id,
                    institution_id=batch.institution_id,
                    settlement_batch_id=batch_id,
                )
                for amount_fen, region_code, scheme_id, voucher_id in uow.settlement.payable_lines(
                    batch_id
                )
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
        summary = replace(summary_of(batch, institution), status=after)
        uow.commit()
        return summary


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
        # Every batch with its institution, and the disputes holding them, read together; each
        # batch is then checked in the order asked, as one at a time would be.
        reads = SettlementRunReads(uow.session)
        found = reads.batches_with_institutions(batch_ids, scope)
        unpaid = [b for b, (batch, _) in found.items() if batch.status is not BatchStatus.PAID]
        holding = reads.holding_disputes(unpaid)
        rows: list[list[object]] = []
        for batch_id in batch_ids:
            if batch_id not in found:
                raise _not_known(batch_id)
            batch, institution = found[batch_id]
            _refuse_if_suspended(batch, institution)
            if batch.status is not BatchStatus.PAID:  # re-exporting a paid batch moves nothing
                _refuse_if_held(batch, holding.get(batch_id))
            if batch.status not in EXPORTABLE:
                raise IllegalTransition(
                    f"batch {batch_id} is {batch.status.value}: "
                    "only published batches go into a payment file"
                )
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
