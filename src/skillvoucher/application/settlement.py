"""Settlement runs: per institution and period, the stages each voucher has earned.

build → approve → export payment file → mark paid, with a reconciliation report that ties
batches, lines and ledger together. Re-running a period creates nothing twice: a period's
batch is unique per institution, and a voucher's stage can be on one line only.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import retry_chunk
from skillvoucher.application.scheme_files import rules_of
from skillvoucher.application.settlement_batches import BatchSummary, batch_summary
from skillvoucher.domain.access import Scope
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.errors import InstitutionSuspended, InvalidInput, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.ledger import JournalKind, Movement
from skillvoucher.domain.schemes import SchemeRules
from skillvoucher.domain.settlement import (
    BatchStatus,
    Progress,
    attendance_percent,
    earned_stage_indexes,
    stage_amounts,
)
from skillvoucher.domain.timekeeping import end_of_local_day
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.repositories.settlement import SettlementCandidate
from skillvoucher.persistence.repositories.training_sets import TrainingSets
from skillvoucher.persistence.tables import SettlementBatch
from skillvoucher.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SettlementRun:
    created: list[BatchSummary]
    already_settled: int  # institutions whose batch for this period existed already
    vouchers_settled: int  # vouchers that reached their final state in this run
    suspended: int = 0  # institutions skipped: an administrator suspended them


def run_settlement(
    ctx: AppContext,
    period_start: date,
    period_end: date,
    institution_code: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    scope: Scope | None = None,
) -> SettlementRun:
    """Build one draft batch per institution for the period (one transaction each); with
    ``scope``, only for the institutions within it. Suspended institutions are skipped (and
    one named explicitly is refused): their unpaid settlement waits for reinstatement."""
    if period_end < period_start:
        raise InvalidInput("the period ends before it starts")
    until = end_of_local_day(period_end)
    with ctx.unit_of_work() as uow:
        institution_id = None
        if institution_code is not None:
            institution = uow.catalogue.institution_by_code(institution_code)
            if institution is None:
                raise NotFound(f"institution {institution_code} is not known")
            if institution.approval_status is ApprovalStatus.SUSPENDED:
                raise InstitutionSuspended(f"institution {institution_code} is suspended")
            institution_id = institution.id
        by_institution: dict[uuid.UUID, list[SettlementCandidate]] = defaultdict(list)
        for candidate in uow.settlement.candidates(until, institution_id, scope):
            by_institution[candidate.institution_id].append(candidate)
        suspended = [i for i in by_institution if _is_suspended(uow, i)]
        for inst_id in suspended:
            del by_institution[inst_id]
    created: list[BatchSummary] = []
    existing = settled = 0
    for done, (inst_id, candidates) in enumerate(sorted(by_institution.items()), start=1):
        # Safe to run again (retries.py): an attempt first looks for the period's batch of the
        # institution (a landed commit is then found done) and skips stages already on a line.
        outcome = retry_chunk(
            ctx,
            "settlement run",
            partial(_settle_institution, ctx, inst_id, candidates, period_start, period_end),
        )
        if outcome is None:
            existing += 1
        else:
            summary, finished = outcome
            settled += finished
            if summary is not None:
                created.append(summary)
        if progress is not None:
            progress(done, len(by_institution))
    return SettlementRun(created, existing, settled, len(suspended))


def _is_suspended(uow: UnitOfWork, institution_id: uuid.UUID) -> bool:
    institution = uow.catalogue.institution(institution_id)
    return institution is not None and institution.approval_status is ApprovalStatus.SUSPENDED


def _settle_institution(
    ctx: AppContext,
    institution_id: uuid.UUID,
    candidates: list[SettlementCandidate],
    period_start: date,
    period_end: date,
) -> tuple[BatchSummary | None, int] | None:
    now = ctx.clock()
    until = end_of_local_day(period_end)
    with ctx.unit_of_work() as uow:
        if uow.settlement.batch_for_period(institution_id, period_start, period_end) is not None:
            return None
        voucher_ids = [c.voucher_id for c in candidates]
        already = uow.settlement.settled_stages(voucher_ids)
        minutes = uow.vouchers.attended_minutes_until([c.enrolment_id for c in candidates], until)
        rules_cache: dict[uuid.UUID, SchemeRules] = {}
        batch_id = new_id()
        lines: list[dict[str, Any]] = []
        journals: list[Movement] = []
        finished: list[SettlementCandidate] = []
        for c in candidates:
            rules = rules_cache.get(c.scheme_id)
            if rules is None:
                scheme = uow.schemes.get(c.scheme_id)
                assert scheme is not None
                rules = rules_cache[c.scheme_id] = rules_of(scheme.rules)
            completed = c.completed_at is not None and c.completed_at <= until
            progress = Progress(
                enrolled=True,
                attendance_percent=attendance_percent(
                    minutes.get(c.enrolment_id, 0), c.course_hours
                ),
                completed=completed,
                # Like attendance and completion, a certificate counts for the period in
                # which it was recorded, not for one that had already ended.
                certified=completed and c.certified_at is not None and c.certified_at <= until,
            )
            amounts = stage_amounts(c.redeemable_fen, rules.stages)
            earned = earned_stage_indexes(rules.stages, progress, rules.min_attendance_percent)
            done_before = already.get(c.voucher_id, set())
            for index in earned:
                if index in done_before:
                    continue
                lines.append(
                    {
                        "id": new_id(),
                        "batch_id": batch_id,
                        "voucher_id": c.voucher_id,
                        "scheme_id": c.scheme_id,
                        "region_code": c.region_code,
                        "province_code": c.region_code[:2] + "0000",
                        "stage_index": index,
                        "evidence": rules.stages[index].evidence,
                        "amount_fen": amounts[index],
                    }
                )
                if amounts[index] > 0:
                    journals.append(
                        Movement(
                            JournalKind.PAYABLE,
                            amounts[index],
                            c.region_code,
                            scheme_id=c.scheme_id,
                            voucher_id=c.voucher_id,
                            institution_id=institution_id,
                            settlement_batch_id=batch_id,
                        )
                    )
            all_stages = set(range(len(rules.stages)))
            if c.status is VoucherStatus.COMPLETED and (done_before | set(earned)) == all_stages:
                finished.append(c)
        summary = None
        if lines:
            institution = uow.catalogue.institution(institution_id)
            assert institution is not None
            batch = SettlementBatch(
                id=batch_id,
                institution_id=institution_id,
                region_code=institution.region_code,
                province_code=institution.province_code,
                period_start=period_start,
                period_end=period_end,
                status=BatchStatus.DRAFT,
                total_fen=sum(line["amount_fen"] for line in lines),
                line_count=len(lines),
                created_at=now,
                approved_at=None,
                approved_by=None,
                paid_at=None,
                payment_reference=None,
            )
            uow.settlement.add_batch(batch, lines)
            uow.ledger.post_many(journals, now)
            uow.audit.record(
                at=now,
                actor=ctx.actor,
                action="settlement.batch_built",
                entity_type="settlement_batch",
                entity_id=batch_id,
                region_code=institution.region_code,
                payload={"total_fen": batch.total_fen, "lines": len(lines)},
            )
            summary = batch_summary(uow, batch)
        _close_finished(ctx, uow, finished)
        uow.commit()
    return summary, len(finished)


def _close_finished(ctx: AppContext, uow: UnitOfWork, finished: list[SettlementCandidate]) -> None:
    """Vouchers with every stage settled are settled; their unused value returns to the scheme."""
    now = ctx.clock()
    uow.session.flush()
    remaining = uow.ledger.committed_by_voucher([c.voucher_id for c in finished])
    # One conditional UPDATE for the lot (``TrainingSets.move_vouchers``), as a transition each.
    settled = TrainingSets(uow.session).move_vouchers(
        [c.voucher_id for c in finished],
        VoucherStatus.COMPLETED,
        VoucherStatus.SETTLED,
        {"closed_at": now},
    )
    releases = []
    for c in finished:
        if c.voucher_id not in settled:
            continue
        left = remaining.get(c.voucher_id, 0)
        if left > 0:
            releases.append(
                Movement(
                    JournalKind.RELEASE,
                    left,
                    c.region_code,
                    scheme_id=c.scheme_id,
                    voucher_id=c.voucher_id,
                )
            )
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="voucher.settled",
            entity_type="voucher",
            entity_id=c.voucher_id,
            region_code=c.region_code,
            payload={"released_fen": left},
        )
    uow.ledger.post_many(releases, now)
