"""The rule ``repeated_impossible_attendance``: an institution with REFUSED_ATTENDANCE_MIN or
more refused check-ins in the window is flagged, with counts per rule and per device."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from skillvoucher.domain.risk import (
    REFUSED_ATTENDANCE_HIGH,
    REFUSED_ATTENDANCE_MIN,
    RefusedAttendance,
    RuleCode,
    Severity,
    SubjectType,
    repeated_impossible_attendance,
)

FIRST = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def refused(by_rule: dict[str, int], by_device: dict[str, int] | None = None) -> RefusedAttendance:
    return RefusedAttendance(
        uuid.UUID(int=7),
        "91140100MA0000000X",
        "太原市晋阳职业技能培训学校",
        "140105",
        by_rule,
        by_device or {},
        FIRST,
        FIRST + timedelta(days=2),
    )


def test_below_the_threshold_nothing_is_flagged() -> None:
    few = refused({"attendance_device_burst": REFUSED_ATTENDANCE_MIN - 1})
    assert repeated_impossible_attendance([few]) == []


def test_at_the_threshold_the_institution_is_flagged_with_its_evidence() -> None:
    rules = {"attendance_in_two_places": 3, "attendance_device_burst": REFUSED_ATTENDANCE_MIN - 3}
    [flag] = repeated_impossible_attendance([refused(rules, {"door-2": 2, "door-1": 6})])

    assert flag.rule is RuleCode.IMPOSSIBLE_ATTENDANCE
    assert flag.severity is Severity.MEDIUM
    assert flag.subject_type is SubjectType.INSTITUTION
    assert flag.subject_id == str(uuid.UUID(int=7))
    assert flag.subject_label == "太原市晋阳职业技能培训学校 (91140100MA0000000X)"
    assert flag.reason.startswith(f"{REFUSED_ATTENDANCE_MIN} attendance events refused")
    assert flag.evidence["refusals"] == REFUSED_ATTENDANCE_MIN
    assert flag.evidence["refusals_by_rule"] == [
        f"attendance_device_burst: {REFUSED_ATTENDANCE_MIN - 3}",
        "attendance_in_two_places: 3",
    ]
    assert flag.evidence["devices"] == ["door-1: 6", "door-2: 2"]  # the busiest first
    assert flag.evidence["first_refused_at"] == FIRST.isoformat()
    assert flag.evidence["last_refused_at"] == (FIRST + timedelta(days=2)).isoformat()


def test_many_refusals_are_high_severity() -> None:
    [flag] = repeated_impossible_attendance(
        [refused({"attendance_device_burst": REFUSED_ATTENDANCE_HIGH})]
    )
    assert flag.severity is Severity.HIGH
