"""An institution's settlement statements: its batches with their amounts per stage, paid or
not, and for everything not yet paid the reason it waits.

Two kinds of waiting: a batch that was built waits for its approvals, its public notice and
the treasury; a stage of a trainee's voucher that is in no batch yet waits for its evidence
(attendance, completion, certificate) or for the next settlement run. Both are derived from
the settlement rows and the scheme's rules as ``settlement`` applies them; nothing is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa

from skillvoucher.application.context import AppContext
from skillvoucher.application.scheme_files import rules_of
from skillvoucher.application.scoped_settlement import StageTotal, batch_details, batches_for
from skillvoucher.application.settlement_batches import BatchSummary
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.schemes import SchemeRules
from skillvoucher.domain.settlement import (
    BatchStatus,
    Evidence,
    Progress,
    attendance_percent,
    is_earned,
    stage_amounts,
)
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.tables import (
    Course,
    Enrolment,
    Institution,
    Person,
    Scheme,
    SettlementLine,
    Voucher,
)

MAX_BATCHES_SHOWN = 50
MAX_TRAINEES_SHOWN = 500


class Waiting(StrEnum):
    """Why money is not paid yet; the page words each one."""

    APPROVAL = "approval"
    SECOND_APPROVAL = "second_approval"
    PUBLICATION = "publication"
    NOTICE_PERIOD = "notice_period"
    PAYMENT = "payment"
    SUSPENDED = "suspended"
    ATTENDANCE_BELOW_MINIMUM = "attendance_below_minimum"
    NOT_COMPLETED = "not_completed"
    NO_CERTIFICATE = "no_certificate"
    NEXT_SETTLEMENT_RUN = "next_settlement_run"


@dataclass(frozen=True)
class Statement:
    summary: BatchSummary
    stages: list[StageTotal]
    paid: bool
    waiting: Waiting | None
    paid_at: datetime | None


@dataclass(frozen=True)
class PendingStage:
    enrolment_id: uuid.UUID
    holder_id_masked: str
    course_name: str
    stage_index: int
    evidence: Evidence
    amount_fen: int
    waiting: Waiting
    attendance_percent: int
    min_attendance_percent: int


@dataclass(frozen=True)
class SettlementOverview:
    suspended: bool
    statements: list[Statement]
    paid_fen: int
    in_batches_unpaid_fen: int
    not_in_batches_fen: int
    pending_stages: list[PendingStage]


def _batch_waiting(batch: BatchSummary, suspended: bool, now: datetime) -> Waiting | None:
    if batch.status is BatchStatus.PAID:
        return None
    if suspended:
        return Waiting.SUSPENDED
    if batch.status is BatchStatus.DRAFT:
        return Waiting.APPROVAL
    if batch.status is BatchStatus.APPROVED_ONCE:
        return Waiting.SECOND_APPROVAL
    if batch.status is BatchStatus.APPROVED:
        return Waiting.PUBLICATION
    if batch.notice_until is not None and now < batch.notice_until:
        return Waiting.NOTICE_PERIOD
    return Waiting.PAYMENT


def _stage_waiting(evidence: Evidence, progress: Progress, minimum: int) -> Waiting:
    if evidence is not Evidence.ENROLMENT and progress.attendance_percent < minimum:
        return Waiting.ATTENDANCE_BELOW_MINIMUM
    if evidence in (Evidence.COMPLETION, Evidence.CERTIFICATE) and not progress.completed:
        return Waiting.NOT_COMPLETED
    if evidence is Evidence.CERTIFICATE and not progress.certified:
        return Waiting.NO_CERTIFICATE
    return Waiting.NEXT_SETTLEMENT_RUN


def settlement_overview(ctx: AppContext, principal: Principal) -> SettlementOverview:
    """The principal's institution's statements and what is still pending, and why."""
    principal.require(Permission.SETTLEMENT_READ)
    now = ctx.clock()
    institution_id = principal.scope.institution_id
    page = batches_for(ctx, principal, None, None, MAX_BATCHES_SHOWN)
    with ctx.unit_of_work() as uow:
        institution = (
            uow.session.get(Institution, institution_id) if institution_id is not None else None
        )
        suspended = (
            institution is not None and institution.approval_status is ApprovalStatus.SUSPENDED
        )
    statements = []
    for summary in page.items:
        details = batch_details(ctx, principal, summary.batch_id)
        statements.append(
            Statement(
                summary,
                details.stages,
                summary.status is BatchStatus.PAID,
                _batch_waiting(summary, suspended, now),
                details.paid_at,
            )
        )
    pending = _pending_stages(ctx, institution_id, suspended) if institution_id else []
    paid = sum(s.summary.total_fen for s in statements if s.paid)
    unpaid = sum(s.summary.total_fen for s in statements if not s.paid)
    return SettlementOverview(
        suspended, statements, paid, unpaid, sum(p.amount_fen for p in pending), pending
    )


def _pending_stages(
    ctx: AppContext, institution_id: uuid.UUID, suspended: bool
) -> list[PendingStage]:
    """Each stage of a live enrolment's voucher that is in no batch yet, with its reason."""
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(
            sa.select(Enrolment, Voucher, Course, Person, Scheme)
            .join(Voucher, Voucher.id == Enrolment.voucher_id)
            .join(Course, Course.id == Enrolment.course_id)
            .join(Person, Person.id == Enrolment.person_id)
            .join(Scheme, Scheme.id == Voucher.scheme_id)
            .where(
                Enrolment.institution_id == institution_id,
                Enrolment.status == EnrolmentStatus.ACTIVE,
                Voucher.status.in_(
                    [VoucherStatus.ENROLLED, VoucherStatus.IN_TRAINING, VoucherStatus.COMPLETED]
                ),
            )
            .order_by(Enrolment.id)
            .limit(MAX_TRAINEES_SHOWN)
        ).all()
        voucher_ids = [row[1].id for row in rows]
        settled = {
            (voucher_id, stage_index)
            for voucher_id, stage_index in uow.session.execute(
                sa.select(SettlementLine.voucher_id, SettlementLine.stage_index).where(
                    SettlementLine.voucher_id.in_(voucher_ids)
                )
            )
        }
        rules_by_scheme: dict[uuid.UUID, SchemeRules] = {}
        pending: list[PendingStage] = []
        for enrolment, voucher, course, person, scheme in rows:
            rules = rules_by_scheme.get(scheme.id) or rules_of(scheme.rules)
            rules_by_scheme[scheme.id] = rules
            rate = attendance_percent(enrolment.attended_minutes, course.hours)
            progress = Progress(
                enrolled=True,
                attendance_percent=rate,
                completed=voucher.completed_at is not None,
                certified=voucher.certified_at is not None,
            )
            amounts = stage_amounts(enrolment.redeemable_fen, rules.stages)
            for index, (stage, amount) in enumerate(zip(rules.stages, amounts, strict=True)):
                if (voucher.id, index) in settled:
                    continue
                minimum = rules.min_attendance_percent
                earned = is_earned(stage, progress, minimum)
                waiting = (
                    Waiting.SUSPENDED
                    if suspended and earned
                    else _stage_waiting(stage.evidence, progress, minimum)
                )
                pending.append(
                    PendingStage(
                        enrolment.id,
                        person.id_masked,
                        course.name,
                        index,
                        stage.evidence,
                        amount,
                        waiting,
                        rate,
                        minimum,
                    )
                )
    return pending
