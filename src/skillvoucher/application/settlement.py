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
from datetime import date, datetime
from functools import partial
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import retry_chunk
from skillvoucher.application.scheme_files import rules_of
from skillvoucher.application.settlement_batches import BatchSummary, summary_of
from skillvoucher.domain.access import Scope
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.errors import InstitutionSuspended, InvalidInput, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.ledger import Account, JournalKind, Movement
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
from skillvoucher.persistence.repositories.settlement_runs import SettlementRunReads
from skillvoucher.persistence.repositories.training_sets import TrainingSets
from skillvoucher.persistence.tables import Institution, SettlementBatch
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
        # What every institution's turn needs, read for all of them in a few statements: the
        # institutions, the schemes' rules, the period's batches, and the stages settled and
        # minutes attended so far, as of this snapshot (as the candidates are).
        reads = SettlementRunReads(uow.session)
        institutions = reads.institutions(sorted(by_institution))
        suspended = [
            i for i in by_institution if institutions[i].approval_status is ApprovalStatus.SUSPENDED
        ]
        for inst_id in suspended:
            del by_institution[inst_id]
        schemes = sorted({c.scheme_id for cs in by_institution.values() for c in cs})
        rules = {s: rules_of(doc) for s, doc in reads.scheme_rules(schemes).items()}
        with_batch = reads.institutions_with_batch(period_start, period_end)
        settled_before: dict[uuid.UUID, set[int]] = {}
        minutes_before: dict[uuid.UUID, int] = {}
        if by_institution.keys() - with_batch:
            settled_before = reads.settled_stages(until, institution_id, scope)
            minutes_before = reads.attended_minutes(until, institution_id, scope)
    created: list[BatchSummary] = []
    existing = settled = 0
    for done, (inst_id, candidates) in enumerate(sorted(by_institution.items()), start=1):
        if inst_id in with_batch:
            existing += 1  # what its transaction would find first (below)
        elif _earnings(
            inst_id, candidates, rules, settled_before, minutes_before, until, new_id()
        ).anything:
            # Safe to run again (retries.py): an attempt first looks for the period's batch of
            # the institution (a landed commit is then found done) and skips stages already on
            # a line, read again in its own transaction.
            outcome = retry_chunk(
                ctx,
                "settlement run",
                partial(
                    _settle_institution,
                    ctx,
                    institutions[inst_id],
                    candidates,
                    rules,
                    period_start,
                    period_end,
                ),
            )
            if outcome is None:
                existing += 1
            else:
                summary, finished = outcome
                settled += finished
                if summary is not None:
                    created.append(summary)
        # Otherwise nothing earned and nothing to close: its transaction would write nothing.
        if progress is not None:
            progress(done, len(by_institution))
    return SettlementRun(created, existing, settled, len(suspended))


@dataclass(frozen=True)
class _Earnings:
    """What an institution's candidates earned and not yet settled: its batch's lines and
    payable journals, and the vouchers whose every stage is then settled."""

    lines: list[dict[str, Any]]
    journals: list[Movement]
    finished: list[SettlementCandidate]

    @property
    def anything(self) -> bool:
        return bool(self.lines or self.finished)


def _earnings(
    institution_id: uuid.UUID,
    candidates: list[SettlementCandidate],
    rules: dict[uuid.UUID, SchemeRules],
    already: dict[uuid.UUID, set[int]],
    minutes: dict[uuid.UUID, int],
    until: datetime,
    batch_id: uuid.UUID,
) -> _Earnings:
    lines: list[dict[str, Any]] = []
    journals: list[Movement] = []
    finished: list[SettlementCandidate] = []
    for c in candidates:
        scheme_rules = rules[c.scheme_id]
        completed = c.completed_at is not None and c.completed_at <= until
        progress = Progress(
            enrolled=True,
            attendance_percent=attendance_percent(minutes.get(c.enrolment_id, 0), c.course_hours),
            completed=completed,
            # Like attendance and completion, a certificate counts for the period in which it
            # was recorded, not for one that had already ended.
            certified=completed and c.certified_at is not None and c.certified_at <= until,
        )
        amounts = stage_amounts(c.redeemable_fen, scheme_rules.stages)
        earned = earned_stage_indexes(
            scheme_rules.stages, progress, scheme_rules.min_attendance_percent
        )
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
                    "evidence": scheme_rules.stages[index].evidence,
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
        all_stages = set(range(len(scheme_rules.stages)))
        if c.status is VoucherStatus.COMPLETED and (done_before | set(earned)) == all_stages:
            finished.append(c)
    return _Earnings(lines, journals, finished)


def _settle_institution(
    ctx: AppContext,
    institution: Institution,
    candidates: list[SettlementCandidate],
    rules: dict[uuid.UUID, SchemeRules],
    period_start: date,
    period_end: date,
) -> tuple[BatchSummary | None, int] | None:
    now = ctx.clock()
    until = end_of_local_day(period_end)
    with ctx.unit_of_work() as uow:
        turn = SettlementRunReads(uow.session).institution_turn(
            institution.id,
            period_start,
            period_end,
            [c.voucher_id for c in candidates],
            [c.enrolment_id for c in candidates],
            until,
        )
        if turn.has_batch:
            return None
        batch_id = new_id()
        earnings = _earnings(
            institution.id, candidates, rules, turn.settled, turn.minutes, until, batch_id
        )
        lines = earnings.lines
        summary = None
        if lines:
            batch = SettlementBatch(
                id=batch_id,
                institution_id=institution.id,
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
            uow.audit.record(
                at=now,
                actor=ctx.actor,
                action="settlement.batch_built",
                entity_type="settlement_batch",
                entity_id=batch_id,
                region_code=institution.region_code,
                payload={"total_fen": batch.total_fen, "lines": len(lines)},
            )
            summary = summary_of(batch, institution)
        releases = _close_finished(ctx, uow, earnings, turn.committed, now)
        # The payable and the release journals in one write (the releases move the schemes'
        # budgets, in primary-key order).
        uow.ledger.post_many([*earnings.journals, *releases], now)
        uow.commit()
    return summary, len(earnings.finished)


def _close_finished(
    ctx: AppContext,
    uow: UnitOfWork,
    earnings: _Earnings,
    committed_before: dict[uuid.UUID, int],
    now: datetime,
) -> list[Movement]:
    """Vouchers with every stage settled are settled; their unused value returns to the scheme
    by the release journals returned (to be posted after the batch's payable ones)."""
    finished = earnings.finished
    if not finished:
        return []
    committed = dict(committed_before)
    # What stays committed once this batch's payable journals are posted (they are not yet).
    for journal in earnings.journals:
        for posting in journal.postings():
            if posting.account is Account.COMMITTED and journal.voucher_id is not None:
                v = journal.voucher_id
                committed[v] = committed.get(v, 0) + posting.amount_fen
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
        left = committed.get(c.voucher_id, 0)
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
    return releases
