"""The pure rules that refuse impossible attendance events."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from skillvoucher.domain.attendance import (
    DEVICE_BURST_PEOPLE,
    DEVICE_BURST_WINDOW,
    TWO_PLACES_WINDOW,
    AttendanceDeviceBurst,
    AttendanceFact,
    AttendanceInTwoPlaces,
    AttendanceOutsideCourseDates,
    AttendanceSource,
    ImplausibleAttendance,
    OnlineMinutesExceedTime,
    device_burst,
    implausibility,
    in_two_places,
    online_minutes_exceed_time,
    outside_course_dates,
)
from skillvoucher.domain.errors import InvalidInput

NINE = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
SCHOOL, OTHER_SCHOOL = uuid.uuid4(), uuid.uuid4()
HOLDER = uuid.uuid4()
ENROLMENT = uuid.uuid4()
LONG_AGO = NINE - timedelta(days=30)


def fact(
    at: datetime = NINE,
    *,
    person: uuid.UUID = HOLDER,
    institution: uuid.UUID = SCHOOL,
    enrolment: uuid.UUID = ENROLMENT,
    source: AttendanceSource = AttendanceSource.FACE,
    device: str | None = "door-1",
    minutes: int = 60,
) -> AttendanceFact:
    return AttendanceFact(person, enrolment, institution, source, device, at, minutes)


def test_every_refusal_is_an_invalid_input_with_its_own_code() -> None:
    classes = [
        AttendanceInTwoPlaces,
        AttendanceOutsideCourseDates,
        AttendanceDeviceBurst,
        OnlineMinutesExceedTime,
    ]
    assert all(issubclass(c, ImplausibleAttendance) for c in classes)
    assert issubclass(ImplausibleAttendance, InvalidInput)
    assert len({c.code for c in classes} | {ImplausibleAttendance.code}) == 5


# --- Rule 1: the same person in two places -------------------------------------------------------


def test_a_check_in_at_another_institution_within_the_hour_is_refused() -> None:
    elsewhere = fact(NINE - timedelta(minutes=59), institution=OTHER_SCHOOL, enrolment=uuid.uuid4())

    refused = in_two_places(fact(), [elsewhere])

    assert isinstance(refused, AttendanceInTwoPlaces)
    assert "another institution" in refused.message
    # An hour or more apart is a morning course and an afternoon course.
    assert in_two_places(fact(), [replace(elsewhere, occurred_at=NINE - TWO_PLACES_WINDOW)]) is None
    assert in_two_places(fact(), [replace(elsewhere, occurred_at=NINE + TWO_PLACES_WINDOW)]) is None


def test_two_places_needs_the_same_person_another_institution_and_both_offline() -> None:
    near = NINE + timedelta(minutes=10)
    assert in_two_places(fact(), [fact(near)]) is None  # same institution: a second door
    assert (
        in_two_places(fact(), [fact(near, institution=OTHER_SCHOOL, person=uuid.uuid4())]) is None
    )
    online = fact(near, institution=OTHER_SCHOOL, source=AttendanceSource.ONLINE)
    assert in_two_places(fact(), [online]) is None  # learning online from anywhere
    assert in_two_places(replace(online, occurred_at=NINE), [fact(near)]) is None


# --- Rule 2: outside the course's dates ----------------------------------------------------------


def test_attendance_outside_the_course_days_in_shanghai_is_refused() -> None:
    start, end = date(2026, 4, 1), date(2026, 4, 30)
    # 23:30 UTC on 31 March is already 1 April in Shanghai.
    assert outside_course_dates(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), start, end) is None
    before = outside_course_dates(datetime(2026, 3, 31, 15, 59, tzinfo=UTC), start, end)
    assert isinstance(before, AttendanceOutsideCourseDates)
    assert "before the course starts on 2026-04-01" in before.message
    assert outside_course_dates(datetime(2026, 4, 30, 15, 59, tzinfo=UTC), start, end) is None
    after = outside_course_dates(datetime(2026, 4, 30, 16, 0, tzinfo=UTC), start, end)
    assert isinstance(after, AttendanceOutsideCourseDates)
    assert "after the course ended on 2026-04-30" in after.message


# --- Rule 3: one device, many people within seconds ----------------------------------------------


def crowd(
    count: int, start: datetime, step: timedelta, device: str = "door-1"
) -> list[AttendanceFact]:
    return [
        fact(start + i * step, person=uuid.uuid4(), enrolment=uuid.uuid4(), device=device)
        for i in range(count)
    ]


def test_the_person_beyond_the_limit_within_the_window_is_refused() -> None:
    others = crowd(DEVICE_BURST_PEOPLE - 1, NINE, timedelta(seconds=2))
    last = NINE + DEVICE_BURST_WINDOW

    assert device_burst(fact(last), others) is None  # the fifth person
    refused = device_burst(fact(last, person=uuid.uuid4()), [*others, fact(last)])

    assert isinstance(refused, AttendanceDeviceBurst)
    assert "more than 5 people within 10 seconds" in refused.message


def test_a_steady_queue_the_same_person_twice_and_other_devices_pass() -> None:
    queue = crowd(20, NINE - timedelta(seconds=60), timedelta(seconds=3))
    assert device_burst(fact(), queue) is None  # one every 3 s: at most 4 in any 10 s
    taps = [fact(NINE - timedelta(seconds=i)) for i in range(1, 8)]
    assert device_burst(fact(), taps) is None  # one person tapping again and again
    elsewhere = crowd(DEVICE_BURST_PEOPLE, NINE, timedelta(0), device="door-2")
    assert device_burst(fact(), elsewhere) is None
    same_name_other_school = [
        replace(f, institution_id=OTHER_SCHOOL) for f in crowd(5, NINE, timedelta(0))
    ]
    assert device_burst(fact(), same_name_other_school) is None
    assert device_burst(fact(device=None), crowd(5, NINE, timedelta(0))) is None


def test_a_platform_reporting_many_learners_at_once_is_not_a_burst() -> None:
    online = [replace(f, source=AttendanceSource.ONLINE) for f in crowd(50, NINE, timedelta(0))]
    assert device_burst(fact(source=AttendanceSource.ONLINE), online) is None


# --- Rule 4: online minutes beyond the clock -----------------------------------------------------


def online(end_minute: int, minutes: int) -> AttendanceFact:
    return fact(
        NINE + timedelta(minutes=end_minute),
        source=AttendanceSource.ONLINE,
        device="platform",
        minutes=minutes,
    )


def test_online_minutes_may_not_begin_before_the_enrolment() -> None:
    span = online(0, 120)

    refused = online_minutes_exceed_time(span, [], enrolled_at=NINE - timedelta(minutes=90))

    assert isinstance(refused, OnlineMinutesExceedTime)
    assert "120 minutes of online learning cannot end 90 minutes after" in refused.message
    assert online_minutes_exceed_time(span, [], enrolled_at=NINE - timedelta(minutes=120)) is None


def test_overlapping_online_spans_are_refused_touching_ones_are_not() -> None:
    recorded = [online(60, 60)]  # 09:00 to 10:00
    overlapping = online_minutes_exceed_time(online(90, 60), recorded, LONG_AGO)
    assert isinstance(overlapping, OnlineMinutesExceedTime)
    assert "120 minutes in 90 minutes" in overlapping.message
    assert online_minutes_exceed_time(online(120, 60), recorded, LONG_AGO) is None
    other_enrolment = [replace(recorded[0], enrolment_id=uuid.uuid4())]
    assert online_minutes_exceed_time(online(90, 60), other_enrolment, LONG_AGO) is None


spans = st.lists(
    st.tuples(st.integers(min_value=0, max_value=600), st.integers(min_value=1, max_value=120)),
    max_size=25,
)


@given(spans)
def test_accepted_online_minutes_never_exceed_the_time_they_cover(
    offered: list[tuple[int, int]],
) -> None:
    """Fed one by one, the accepted spans never overlap, so the minutes counted equal the
    wall-clock minutes covered; and a span is refused only when it overlaps an accepted one."""
    accepted: list[AttendanceFact] = []
    for end, minutes in offered:
        span = online(end, minutes)
        refused = online_minutes_exceed_time(span, accepted, LONG_AGO)
        overlaps = any(
            span.span_start < a.occurred_at and a.span_start < span.occurred_at for a in accepted
        )
        assert (refused is not None) == overlaps
        if refused is None:
            accepted.append(span)
    covered = set()
    for a in accepted:
        start = int((a.span_start - NINE).total_seconds() // 60)
        covered |= set(range(start, start + a.minutes))
    assert sum(a.minutes for a in accepted) == len(covered)


@given(spans)
def test_a_span_touching_no_recorded_one_is_always_accepted(offered: list[tuple[int, int]]) -> None:
    recorded = [online(end, minutes) for end, minutes in offered]
    after_all = max((r.occurred_at for r in recorded), default=NINE)
    late = fact(
        after_all + timedelta(minutes=45),
        source=AttendanceSource.ONLINE,
        minutes=45,
    )
    # Recorded spans may overlap each other (data from before the rule); the new one is apart.
    assert online_minutes_exceed_time(late, recorded, LONG_AGO) is None


# --- All rules together --------------------------------------------------------------------------


def test_the_course_dates_are_judged_first_and_a_plausible_event_passes() -> None:
    course = (date(2026, 4, 1), date(2026, 4, 30))
    elsewhere = fact(NINE, institution=OTHER_SCHOOL, enrolment=uuid.uuid4())
    late = fact(NINE + timedelta(days=40))
    assert isinstance(
        implausibility(late, [elsewhere], course, LONG_AGO), AttendanceOutsideCourseDates
    )
    assert isinstance(implausibility(fact(), [elsewhere], course, LONG_AGO), AttendanceInTwoPlaces)
    assert implausibility(fact(), [], course, LONG_AGO) is None
