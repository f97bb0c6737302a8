"""Disputes and objections, one transaction each: a holder disputes a record of theirs (an
enrolment, its attendance, its completion, a settlement line), an administrator objects to a
settlement batch on public notice; an administrator in scope upholds or dismisses.

While a dispute is open its voucher is frozen (settlement builds no line for it, and a batch
holding one of its lines is neither approved, exported nor paid); an objection holds its
batch. Upheld, the record is undone by the existing reversal paths: an enrolment with nothing
settled is cancelled (the voucher is issued again), anything further is clawed back. Dismissed,
everything goes on as before."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import cancel_enrolment_within
from skillvoucher.application.lifecycle import claw_back_within
from skillvoucher.application.settlement_batches import BatchSummary, batch_summary
from skillvoucher.domain.access import Permission, Principal, PrincipalKind
from skillvoucher.domain.disputes import (
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    DisputeOutcome,
    DisputeStatus,
    DisputeSubject,
    resolved_status,
)
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.settlement import BatchStatus
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import Dispute
from skillvoucher.persistence.unit_of_work import UnitOfWork

ON_RECORD = frozenset(
    {DisputeSubject.ENROLMENT, DisputeSubject.ATTENDANCE, DisputeSubject.COMPLETION}
)


@dataclass(frozen=True)
class DisputeView:
    dispute_id: uuid.UUID
    subject: DisputeSubject
    subject_id: uuid.UUID
    voucher_id: uuid.UUID | None
    batch_id: uuid.UUID | None
    by_holder: bool
    reason: str
    status: DisputeStatus
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    region_code: str


def _view(d: Dispute) -> DisputeView:
    return DisputeView(
        d.id,
        d.subject_kind,
        d.subject_id,
        d.voucher_id,
        d.batch_id,
        d.person_id is not None,
        d.reason,
        d.status,
        d.opened_at,
        d.opened_by,
        d.resolved_at,
        d.resolved_by,
        d.resolution_note,
        d.region_code,
    )


@dataclass(frozen=True)
class _Target:
    voucher_id: uuid.UUID | None
    holder_id: uuid.UUID | None
    batch_id: uuid.UUID | None
    region_code: str


def _not_found(subject: DisputeSubject, subject_id: uuid.UUID) -> NotFound:
    # Outside the caller's reach, a record is as unknown as a missing one: the same words.
    return NotFound(f"{subject.value} {subject_id} is not known")


def _target(
    uow: UnitOfWork, subject: DisputeSubject, subject_id: uuid.UUID, now: datetime
) -> _Target:
    if subject in ON_RECORD:
        enrolment = uow.dispute_subjects.enrolment(subject_id)
        if enrolment is None:
            raise _not_found(subject, subject_id)
        voucher = uow.vouchers.get(enrolment.voucher_id)
        assert voucher is not None
        if subject is DisputeSubject.COMPLETION and voucher.completed_at is None:
            raise IllegalTransition("no completion has been recorded for this training")
        return _Target(voucher.id, enrolment.person_id, None, voucher.region_code)
    if subject is DisputeSubject.SETTLEMENT_LINE:
        line = uow.dispute_subjects.settlement_line(subject_id)
        if line is None:
            raise _not_found(subject, subject_id)
        voucher = uow.vouchers.get(line.voucher_id)
        assert voucher is not None
        return _Target(voucher.id, voucher.person_id, line.batch_id, voucher.region_code)
    batch = uow.settlement.batch(subject_id)
    if batch is None:
        raise _not_found(subject, subject_id)
    on_notice = batch.status is BatchStatus.PUBLISHED and (
        batch.notice_until is not None and now < batch.notice_until
    )
    if not on_notice:
        raise IllegalTransition("objections are taken while a batch is on public notice")
    return _Target(None, None, batch.id, batch.region_code)


def open_dispute(
    ctx: AppContext,
    principal: Principal,
    subject: DisputeSubject,
    subject_id: uuid.UUID,
    reason: str,
) -> DisputeView:
    """Open a dispute (a holder, about a record of their own) or an objection (an
    administrator, about a batch or a record in their scope). Opening the same subject again
    while it is open returns the open one."""
    principal.require(Permission.DISPUTE_OPEN)
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON_CHARS:
        raise InvalidInput(f"a reason of 1 to {MAX_REASON_CHARS} characters is required")
    is_holder = principal.kind is PrincipalKind.WORKER
    if is_holder and subject is DisputeSubject.BATCH:
        raise InvalidInput("a holder objects to a line of their own, not to a whole batch")
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        target = _target(uow, subject, subject_id, now)
        if is_holder:
            if target.holder_id is None or target.holder_id != principal.scope.person_id:
                raise _not_found(subject, subject_id)
        elif not principal.scope.covers_region(target.region_code):
            raise _not_found(subject, subject_id)
        opener = target.holder_id if is_holder else None
        existing = uow.disputes.open_on(subject_id, opener)
        if existing is not None:
            return _view(existing)
        dispute = Dispute(
            id=new_id(),
            voucher_id=target.voucher_id,
            person_id=opener,
            subject_kind=subject,
            subject_id=subject_id,
            batch_id=target.batch_id,
            reason=reason,
            status=DisputeStatus.OPEN,
            opened_at=now,
            opened_by=principal.label,
            resolved_at=None,
            resolved_by=None,
            resolution_note=None,
            region_code=target.region_code,
            province_code=target.region_code[:2] + "0000",
        )
        uow.disputes.add(dispute)
        uow.audit.record(
            at=now,
            actor=principal.label,
            action="dispute.opened",
            entity_type="dispute",
            entity_id=dispute.id,
            region_code=target.region_code,
            payload={
                "subject": subject.value,
                "subject_id": str(subject_id),
                "voucher_id": str(target.voucher_id) if target.voucher_id else None,
                "batch_id": str(target.batch_id) if target.batch_id else None,
                "reason": reason,
            },
        )
        uow.commit()
        return _view(dispute)


def list_disputes(
    ctx: AppContext,
    principal: Principal,
    status: DisputeStatus | None = None,
    before: uuid.UUID | None = None,
    limit: int = 50,
) -> list[DisputeView]:
    """Disputes within the caller's scope, newest first (a holder sees their own)."""
    if not principal.can(Permission.DISPUTE_OPEN):
        principal.require(Permission.DISPUTE_RESOLVE)
    with ctx.unit_of_work() as uow:
        return [_view(d) for d in uow.disputes.page(principal.scope, status, before, limit)]


def resolve_dispute(
    ctx: AppContext,
    principal: Principal,
    dispute_id: uuid.UUID,
    outcome: DisputeOutcome,
    note: str,
) -> DisputeView:
    """Uphold or dismiss an open dispute within the caller's scope, with a note.

    Upheld, a holder's record is undone in this same transaction: an enrolment with nothing
    settled is cancelled, anything further is clawed back (unpaid lines withheld, paid money
    reversed). An upheld objection to a batch records the finding: the lines at fault are
    clawed back by the administrator first, and the rest of the batch goes on."""
    principal.require(Permission.DISPUTE_RESOLVE)
    note = note.strip()
    if not 1 <= len(note) <= MAX_NOTE_CHARS:
        raise InvalidInput(f"a note of 1 to {MAX_NOTE_CHARS} characters is required")
    now = ctx.clock()
    acting = ctx.acting_as(principal.label)
    with ctx.unit_of_work() as uow:
        dispute = uow.disputes.get(dispute_id, principal.scope)
        if dispute is None:
            raise NotFound(f"dispute {dispute_id} is not known")
        after = resolved_status(dispute.status, outcome)
        if not uow.disputes.resolve(
            dispute_id, after, resolved_at=now, resolved_by=principal.label, resolution_note=note
        ):
            raise IllegalTransition(f"dispute {dispute_id} was resolved meanwhile")
        undone = None
        if after is DisputeStatus.UPHELD and dispute.voucher_id is not None:
            undone = _undo(acting, uow, dispute.voucher_id, f"dispute {dispute_id}: {note}")
        uow.audit.record(
            at=now,
            actor=principal.label,
            action=f"dispute.{after.value}",
            entity_type="dispute",
            entity_id=dispute_id,
            region_code=dispute.region_code,
            payload={
                "subject": dispute.subject_kind.value,
                "outcome": after.value,
                "note": note,
                "undone_by": undone,
            },
        )
        uow.commit()
        uow.session.refresh(dispute)
        return _view(dispute)


def _undo(ctx: AppContext, uow: UnitOfWork, voucher_id: uuid.UUID, reason: str) -> str | None:
    """Undo what an upheld dispute found wrong, by the existing reversal paths; returns which."""
    voucher = uow.vouchers.get(voucher_id)
    assert voucher is not None
    cancellable = voucher.status is VoucherStatus.ENROLLED and voucher.valid_until >= ctx.clock()
    if cancellable and not uow.settlement.settled_stages([voucher_id]):
        cancel_enrolment_within(ctx, uow, voucher_id, reason)
        return "enrolment_cancelled"
    if voucher.status in (
        VoucherStatus.ENROLLED,
        VoucherStatus.IN_TRAINING,
        VoucherStatus.COMPLETED,
        VoucherStatus.SETTLED,
    ):
        claw_back_within(ctx, uow, voucher_id, reason)
        return "clawed_back"
    return None  # already closed (revoked or expired): nothing left to undo


def batches_open_to_objection(ctx: AppContext, principal: Principal) -> list[BatchSummary]:
    """Batches within the caller's scope whose public notice is running now (newest first)."""
    principal.require(Permission.DISPUTE_OPEN)
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        batches = uow.settlement.batches_page(principal.scope, BatchStatus.PUBLISHED, None, 200)
        return [
            batch_summary(uow, b)
            for b in batches
            if b.notice_until is not None and now < b.notice_until
        ]
