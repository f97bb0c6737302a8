from skillvoucher.domain.settlement import (
    Evidence,
    Progress,
    Stage,
    attendance_percent,
    earned_stage_indexes,
    stage_amounts,
)

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
