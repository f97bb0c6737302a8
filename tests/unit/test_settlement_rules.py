from datetime import datetime, timedelta

import pytest

from skillvoucher.domain.errors import IllegalTransition, NoticeNotOver
from skillvoucher.domain.settlement import (
    BATCH_TRANSITIONS,
    EXPORTABLE,
    BatchStatus,
    BatchStep,
    Evidence,
    Progress,
    Stage,
    approval_step,
    attendance_percent,
    check_notice_over,
    earned_stage_indexes,
    next_batch_status,
    notice_until,
    stage_amounts,
)
from skillvoucher.domain.timekeeping import SHANGHAI

STAGES = (
    Stage(Evidence.ENROLMENT, 30),
    Stage(Evidence.COMPLETION, 20),
    Stage(Evidence.CERTIFICATE, 50),
)


def test_attendance_percent_rounds_down_and_caps() -> None:
    assert attendance_percent(79 * 60 - 1, 100) == 78
    assert attendance_percent(200 * 60, 100) == 100
    assert attendance_percent(0, 40) == 0


def test_enrolment_stage_needs_no_attendance() -> None:
    progress = Progress(enrolled=True, attendance_percent=0, completed=False, certified=False)
    assert earned_stage_indexes(STAGES, progress, 80) == [0]


def test_later_stages_need_the_minimum_attendance() -> None:
    short = Progress(enrolled=True, attendance_percent=79, completed=True, certified=True)
    enough = Progress(enrolled=True, attendance_percent=80, completed=True, certified=True)
    assert earned_stage_indexes(STAGES, short, 80) == [0]
    assert earned_stage_indexes(STAGES, enough, 80) == [0, 1, 2]


def test_certificate_stage_needs_the_certificate() -> None:
    progress = Progress(enrolled=True, attendance_percent=95, completed=True, certified=False)
    assert earned_stage_indexes(STAGES, progress, 80) == [0, 1]


def test_nothing_is_earned_without_enrolment() -> None:
    progress = Progress(enrolled=False, attendance_percent=100, completed=True, certified=True)
    assert earned_stage_indexes(STAGES, progress, 0) == []


def test_stage_amounts_add_up_to_what_the_voucher_pays() -> None:
    # Exact shares are 37,037.1, 24,691.4 and 61,728.5: the spare fen goes to the largest .5.
    assert stage_amounts(123_457, STAGES) == [37_037, 24_691, 61_729]
    assert sum(stage_amounts(123_457, STAGES)) == 123_457


def test_the_notice_counts_whole_days_after_the_day_of_publication() -> None:
    # Published at 23:59 or at 00:01 on 2 March (Shanghai): the notice ends at midnight
    # starting 8 March either way, so the public always has five whole days.
    late = datetime(2026, 3, 2, 23, 59, tzinfo=SHANGHAI)
    early = datetime(2026, 3, 2, 0, 1, tzinfo=SHANGHAI)
    end = datetime(2026, 3, 8, tzinfo=SHANGHAI)
    assert notice_until(late, 5) == notice_until(early, 5) == end
    assert notice_until(late, 0) == late  # no notice: payable at once
    check_notice_over(end, end)
    with pytest.raises(NoticeNotOver, match="2026-03-08 00:00 CST"):
        check_notice_over(end, end - timedelta(microseconds=1))
    with pytest.raises(NoticeNotOver):
        check_notice_over(None, end)


def test_approval_needs_a_second_person_from_the_four_eyes_amount_on() -> None:
    assert approval_step(BatchStatus.DRAFT, 99, 100) is BatchStep.APPROVE
    assert approval_step(BatchStatus.DRAFT, 100, 100) is BatchStep.FIRST_APPROVAL
    assert approval_step(BatchStatus.APPROVED_ONCE, 100, 100) is BatchStep.SECOND_APPROVAL
    assert next_batch_status(BatchStatus.DRAFT, BatchStep.FIRST_APPROVAL) is (
        BatchStatus.APPROVED_ONCE
    )
    with pytest.raises(IllegalTransition, match="approved_once cannot take the step publish"):
        next_batch_status(BatchStatus.APPROVED_ONCE, BatchStep.PUBLISH)


def test_money_leaves_only_through_publication() -> None:
    """Every path from draft to paid passes an approval and the public notice."""
    into = {to: (status, step) for (status, step), to in BATCH_TRANSITIONS.items()}
    assert into[BatchStatus.PAID] == (BatchStatus.PUBLISHED, BatchStep.PAY)
    assert [s for (s, step) in BATCH_TRANSITIONS if step is BatchStep.PUBLISH] == [
        BatchStatus.APPROVED
    ]
    assert {BatchStatus.PUBLISHED, BatchStatus.PAID} == EXPORTABLE
    for status in BatchStatus:
        if status is not BatchStatus.PUBLISHED:
            with pytest.raises(IllegalTransition):
                next_batch_status(status, BatchStep.PAY)
