"""Impossible attendance is refused with the rule it breaks and never stored; a plausible event
next to it is still recorded; settlement counts only what was accepted."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from builders import (
    Clock,
    TrainingWorld,
    enrol,
    import_course,
    import_institution,
    issue,
    make_scheme,
    training_world,
    write_csv,
)
from principals import api_key_headers
from skillvoucher.application import settlement, training
from skillvoucher.application.attendance_import import record_attendance_file
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Permission, Role
from skillvoucher.domain.attendance import (
    AttendanceDeviceBurst,
    AttendanceInTwoPlaces,
    AttendanceOutsideCourseDates,
    AttendanceSource,
    OnlineMinutesExceedTime,
)
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.persistence.tables import AttendanceEvent, SettlementLine

FACE, CARD, ONLINE = AttendanceSource.FACE, AttendanceSource.CARD, AttendanceSource.ONLINE
SHANGHAI = ZoneInfo("Asia/Shanghai")


def stored(ctx: AppContext, voucher_id: uuid.UUID) -> list[tuple[AttendanceSource, int]]:
    with ctx.unit_of_work() as uow:
        stmt = (
            sa.select(AttendanceEvent.source, AttendanceEvent.minutes)
            .where(AttendanceEvent.voucher_id == voucher_id)
            .order_by(AttendanceEvent.occurred_at)
        )
        return [(source, minutes) for source, minutes in uow.session.execute(stmt)]


def attended_audits(ctx: AppContext, voucher_id: uuid.UUID) -> int:
    with ctx.unit_of_work() as uow:
        events = uow.audit.for_entity("voucher", voucher_id)
        return sum(e.action == "voucher.attended" for e in events)


def enrolled(ctx: AppContext, world: TrainingWorld, holder: int = 0) -> uuid.UUID:
    voucher_id = issue(ctx, world.scheme.code, world.people[holder]).voucher_id
    enrol(ctx, voucher_id, world.institution, world.course.course_code)
    return voucher_id


def test_the_same_person_at_two_institutions_within_the_hour_is_refused(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=2)
    here = enrolled(ctx, world)
    # The same holder's second voucher, from another scheme, for another course elsewhere.
    other_scheme = make_scheme(
        ctx,
        code="TY-2026-B",
        name="太原市第二期培训券",
        eligibility={"one_active_voucher": False},
    )
    elsewhere = import_institution(ctx, name="太原市另一家培训学校")
    import_course(
        ctx, elsewhere, course_code="E1", name="营销员(五级)", occupation_code="4-01-02-01"
    )
    there = issue(ctx, other_scheme.code, world.people[0]).voucher_id
    enrol(ctx, there, elsewhere, "E1")
    neighbour = enrolled(ctx, world, holder=1)
    clock.advance(timedelta(hours=3))
    morning = clock.now - timedelta(hours=2)

    training.record_attendance(ctx, here, FACE, morning, 60, "door-1")
    with pytest.raises(AttendanceInTwoPlaces, match="another institution") as refused:
        training.record_attendance(ctx, there, CARD, morning + timedelta(minutes=40), 60, "gate")

    assert refused.value.code == "attendance_in_two_places"
    assert stored(ctx, there) == []
    assert attended_audits(ctx, there) == 0
    # Another holder at the other door at that moment, and this one an hour later, are fine.
    assert training.record_attendance(ctx, neighbour, FACE, morning, 60, "door-1").recorded
    later = training.record_attendance(ctx, there, CARD, morning + timedelta(minutes=60), 60)
    assert later.recorded
    assert stored(ctx, there) == [(CARD, 60)]


def test_attendance_outside_the_course_dates_is_refused(ctx: AppContext, clock: Clock) -> None:
    # The builders' clock starts on 2 March 2026; the course runs from 4 to 6 March.
    world = training_world(
        ctx, course={"start_date": date(2026, 3, 4), "end_date": date(2026, 3, 6)}
    )
    voucher_id = enrolled(ctx, world)

    with pytest.raises(
        AttendanceOutsideCourseDates, match="before the course starts on 2026-03-04"
    ):
        training.record_attendance(ctx, voucher_id, FACE, clock.now, 60, "door-1")
    clock.advance(timedelta(days=2))
    assert training.record_attendance(ctx, voucher_id, FACE, clock.now, 60, "door-1").recorded
    clock.advance(timedelta(days=3))  # 7 March
    with pytest.raises(AttendanceOutsideCourseDates, match="after the course ended on 2026-03-06"):
        training.record_attendance(ctx, voucher_id, FACE, clock.now, 60, "door-1")

    assert stored(ctx, voucher_id) == [(FACE, 60)]
    assert attended_audits(ctx, voucher_id) == 1


def test_a_device_checking_in_a_crowd_within_seconds_is_refused(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=7)
    vouchers = [enrolled(ctx, world, holder=i) for i in range(7)]
    clock.advance(timedelta(hours=1))
    door_opens = clock.now - timedelta(minutes=30)
    for i, voucher_id in enumerate(vouchers[:5]):
        at = door_opens + timedelta(seconds=2 * i)
        training.record_attendance(ctx, voucher_id, FACE, at, 60, "door-1")

    sixth = door_opens + timedelta(seconds=9)
    with pytest.raises(
        AttendanceDeviceBurst, match="door-1 checked in more than 5 people"
    ) as burst:
        training.record_attendance(ctx, vouchers[5], FACE, sixth, 60, "door-1")

    assert burst.value.code == "attendance_device_burst"
    assert stored(ctx, vouchers[5]) == []
    # The same moment at another door, or the same door a little later, is a queue.
    assert training.record_attendance(ctx, vouchers[5], FACE, sixth, 60, "door-2").recorded
    later = door_opens + timedelta(seconds=19)
    assert training.record_attendance(ctx, vouchers[6], FACE, later, 60, "door-1").recorded
    # A re-sent event of the crowd is a duplicate, not a burst.
    again = training.record_attendance(
        ctx, vouchers[4], FACE, door_opens + timedelta(seconds=8), 60, "door-1"
    )
    assert not again.recorded


def test_online_minutes_beyond_the_clock_are_refused(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, course={"mode": "online"})
    voucher_id = enrolled(ctx, world)
    enrolled_at = clock.now
    clock.advance(timedelta(hours=4))

    with pytest.raises(OnlineMinutesExceedTime, match="cannot end 180 minutes after"):
        training.record_attendance(ctx, voucher_id, ONLINE, enrolled_at + timedelta(hours=3), 240)
    first = enrolled_at + timedelta(hours=2)
    assert training.record_attendance(ctx, voucher_id, ONLINE, first, 60).recorded
    with pytest.raises(OnlineMinutesExceedTime, match="120 minutes in 90 minutes") as overlap:
        training.record_attendance(ctx, voucher_id, ONLINE, first + timedelta(minutes=30), 60)
    touching = training.record_attendance(ctx, voucher_id, ONLINE, first + timedelta(hours=1), 60)

    assert overlap.value.code == "attendance_minutes_exceed_time"
    assert (touching.recorded, touching.attended_minutes) == (True, 120)
    assert stored(ctx, voucher_id) == [(ONLINE, 60), (ONLINE, 60)]
    assert attended_audits(ctx, voucher_id) == 2


def test_settlement_counts_only_accepted_events_against_the_minimum(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx)  # 80 hours; 80 % attendance needed past the enrolment stage
    voucher_id = enrolled(ctx, world)
    for _day in range(8):  # 3,648 minutes offline: 76 %
        clock.advance(timedelta(days=1))
        training.record_attendance(ctx, voucher_id, FACE, clock.now, 456, "door-1")
    evening = clock.now + timedelta(hours=10)
    clock.advance(timedelta(hours=11))
    accepted = training.record_attendance(ctx, voucher_id, ONLINE, evening, 120)
    with pytest.raises(OnlineMinutesExceedTime):  # would have made it 81 %
        training.record_attendance(ctx, voucher_id, ONLINE, evening + timedelta(minutes=60), 120)
    training.record_completion(ctx, voucher_id, "CERT-0001", SkillLevel.LEVEL_5)

    settlement.run_settlement(ctx, date(2026, 3, 1), date(2026, 3, 31))

    assert (accepted.attended_minutes, accepted.attendance_percent) == (3_768, 78)
    with ctx.unit_of_work() as uow:
        stmt = sa.select(SettlementLine.stage_index).where(SettlementLine.voucher_id == voucher_id)
        assert list(uow.session.scalars(stmt)) == [0]  # the enrolment stage only


def test_the_file_import_and_the_bulk_endpoint_report_each_refusal(
    ctx: AppContext, clock: Clock, client: TestClient
) -> None:
    world = training_world(ctx, course={"end_date": date(2026, 3, 5)})
    voucher_id = enrolled(ctx, world)
    clock.advance(timedelta(days=5))  # 7 March in Shanghai: the course has ended
    good = (clock.now - timedelta(days=4)).astimezone(SHANGHAI)
    late = clock.now.astimezone(SHANGHAI)
    path = write_csv(
        ctx.settings.data_dir / "attendance.csv",
        ("voucher_id", "source", "minutes", "occurred_at", "device_id"),
        [
            (voucher_id, "face", 60, good.isoformat(), "door-1"),
            (voucher_id, "face", 60, late.isoformat(), "door-1"),
        ],
    )

    report = record_attendance_file(ctx, path)

    assert report.recorded == 1
    [problem] = report.problems
    assert "after the course ended on 2026-03-05" in problem.reason

    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(world.institution)
        assert institution is not None
    device = api_key_headers(
        ctx, Role.INSTITUTION_STAFF, [Permission.ATTENDANCE_RECORD], institution_id=institution.id
    )
    events = [
        {"voucher_id": str(voucher_id), "source": "face", "occurred_at": at, "minutes": 60}
        for at in ((good + timedelta(hours=3)).isoformat(), late.isoformat())
    ]
    answer = client.post("/api/v1/attendance/bulk", json={"events": events}, headers=device)
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["recorded"], body["duplicates"]) == (1, 0)
    assert [(p["index"], p["code"]) for p in body["problems"]] == [
        (1, "attendance_outside_course_dates")
    ]
    one = client.post("/api/v1/attendance", json=events[1], headers=device)
    assert one.status_code == 422
    assert one.headers["content-type"] == "application/problem+json"
    assert one.json()["code"] == "attendance_outside_course_dates"
    english = client.post(
        "/api/v1/attendance", json=events[1], headers={**device, "Accept-Language": "en"}
    )
    assert english.json()["title"] == "The attendance is outside the course dates"
    assert stored(ctx, voucher_id) == [(FACE, 60), (FACE, 60)]
