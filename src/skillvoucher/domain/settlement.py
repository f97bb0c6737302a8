"""Settlement rules: which stages of a voucher's value an institution has earned.

A scheme splits the redeemable amount (min(face value, course price)) into stages tied to
evidence, e.g. enrolment 30 %, certificate 70 %. Stages after enrolment are earned only when
the holder's attendance reached the scheme's minimum rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from skillvoucher.domain.money import split_by_percent


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
    APPROVED = "approved"  # approved, payment file may be exported
    PAID = "paid"  # the treasury paid it


BATCH_TRANSITIONS: dict[BatchStatus, BatchStatus] = {
    BatchStatus.DRAFT: BatchStatus.APPROVED,
    BatchStatus.APPROVED: BatchStatus.PAID,
}
