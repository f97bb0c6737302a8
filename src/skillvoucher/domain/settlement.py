"""Settlement rules: which stages of a voucher's value an institution has earned.

A scheme splits the redeemable amount (min(face value, course price)) into stages tied to
evidence, e.g. enrolment 30 %, certificate 70 %. Stages after enrolment are earned only when
the holder's attendance reached the scheme's minimum rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from skillvoucher.domain.errors import IllegalTransition, NoticeNotOver
from skillvoucher.domain.money import split_by_percent
from skillvoucher.domain.timekeeping import local_date, show, start_of_local_day


class Evidence(StrEnum):
    ENROLMENT = "enrolment"
    ATTENDANCE = "attendance"  # attendance rate reached the scheme minimum
    COMPLETION = "completion"
    CERTIFICATE = "certificate"


@dataclass(frozen=True)
class Stage:
    evidence: Evidence
    percent: int


@dataclass(frozen=True)
class Progress:
    """What is known about one enrolled voucher at the end of a settlement period."""

    enrolled: bool
    attendance_percent: int  # 0..100, rounded down
    completed: bool
    certified: bool


def attendance_percent(attended_minutes: int, course_hours: int) -> int:
    """Attendance rate in whole percent, rounded down, capped at 100."""
    if course_hours <= 0:
        return 100
    return min(100, attended_minutes * 100 // (course_hours * 60))


def stage_amounts(redeemable_fen: int, stages: tuple[Stage, ...]) -> list[int]:
    return split_by_percent(redeemable_fen, [s.percent for s in stages])


def is_earned(stage: Stage, progress: Progress, min_attendance_percent: int) -> bool:
    if not progress.enrolled:
        return False
    if stage.evidence is Evidence.ENROLMENT:
        return True
    attended_enough = progress.attendance_percent >= min_attendance_percent
    if stage.evidence is Evidence.ATTENDANCE:
        return attended_enough
    if stage.evidence is Evidence.COMPLETION:
        return attended_enough and progress.completed
    return attended_enough and progress.completed and progress.certified


def earned_stage_indexes(
    stages: tuple[Stage, ...], progress: Progress, min_attendance_percent: int
) -> list[int]:
    return [i for i, s in enumerate(stages) if is_earned(s, progress, min_attendance_percent)]


class BatchStatus(StrEnum):
    DRAFT = "draft"  # built, waiting for approval
    APPROVED_ONCE = "approved_once"  # large: waiting for a second, different approver
    APPROVED = "approved"  # approved (twice when large), waiting to be published
    PUBLISHED = "published"  # on public notice; the payment file may be exported
    PAID = "paid"  # the treasury paid it, after the notice ended


class BatchStep(StrEnum):
    APPROVE = "approve"  # the one approval a batch below the four-eyes amount needs
    FIRST_APPROVAL = "first_approval"  # a large batch's first of two approvals
    SECOND_APPROVAL = "second_approval"  # by another person than the first
    PUBLISH = "publish"  # post the public notice
    PAY = "pay"  # once the notice is over


B, T = BatchStatus, BatchStep

BATCH_TRANSITIONS: dict[tuple[BatchStatus, BatchStep], BatchStatus] = {
    (B.DRAFT, T.APPROVE): B.APPROVED,
    (B.DRAFT, T.FIRST_APPROVAL): B.APPROVED_ONCE,
    (B.APPROVED_ONCE, T.SECOND_APPROVAL): B.APPROVED,
    (B.APPROVED, T.PUBLISH): B.PUBLISHED,
    (B.PUBLISHED, T.PAY): B.PAID,
}

# A payment file carries money instructions: only batches whose notice is public go in.
EXPORTABLE = frozenset({B.PUBLISHED, B.PAID})


def next_batch_status(current: BatchStatus, step: BatchStep) -> BatchStatus:
    """The status after ``step``, or IllegalTransition naming both."""
    try:
        return BATCH_TRANSITIONS[(current, step)]
    except KeyError:
        raise IllegalTransition(
            f"a batch that is {current.value} cannot take the step {step.value.replace('_', ' ')}"
        ) from None


def needs_second_approval(total_fen: int, second_approval_fen: int) -> bool:
    """Four eyes: batches of at least ``second_approval_fen`` need two different approvers."""
    return total_fen >= second_approval_fen


def approval_step(status: BatchStatus, total_fen: int, second_approval_fen: int) -> BatchStep:
    """Which approval an approver of a batch in ``status`` gives."""
    if status is B.APPROVED_ONCE:
        return T.SECOND_APPROVAL
    if needs_second_approval(total_fen, second_approval_fen):
        return T.FIRST_APPROVAL
    return T.APPROVE


def notice_until(published_at: datetime, notice_days: int) -> datetime:
    """When a notice published at ``published_at`` ends (UTC).

    Counted as the Civil Code counts periods in days (art. 201, 203): the day of publication
    does not count, and the last day ends at midnight, Asia/Shanghai. So the public always has
    ``notice_days`` whole days to object, whatever the hour of publication. Zero days: no
    notice at all, payable at once.
    """
    if notice_days <= 0:
        return published_at
    return start_of_local_day(local_date(published_at) + timedelta(days=notice_days + 1))


def check_notice_over(until: datetime | None, now: datetime) -> None:
    """Payment waits until the public notice has ended."""
    if until is None or now < until:
        raise NoticeNotOver(f"the public notice runs until {show(until)}; pay after it ends")
