"""A refused attendance event leaves an audit record of the refusal (never the event, never the
holder's ID number) in the province's hash chain, from single calls, file imports and bulk
requests alike; an institution that keeps producing refusals is flagged for review, on the API
and on /admin/risk, once it crosses the threshold and not before."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from builders import (
    OTHER_CITY,
    Clock,
    TrainingWorld,
    enrol,
    issue,
    training_world,
    write_csv,
)
from pages import sign_in_staff_page, text_of
from principals import api_key_headers, staff_headers
from skillvoucher.application import attendance_refusals, training
from skillvoucher.application.attendance_import import record_attendance_file
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Permission, Role
from skillvoucher.domain.attendance import (
    REFUSED_ACTION,
    AttendanceOutsideCourseDates,
    AttendanceSource,
)
from skillvoucher.domain.risk import REFUSED_ATTENDANCE_MIN, REFUSED_ATTENDANCE_WINDOW
from skillvoucher.persistence.database import DatabaseUnavailable
from skillvoucher.persistence.tables import AttendanceEvent, AuditEvent

FACE = AttendanceSource.FACE
RULE = "repeated_impossible_attendance"
# The builders' clock starts on 2 March 2026: a course from 4 March refuses today's check-ins.
LATER_COURSE = {"start_date": date(2026, 3, 4), "end_date": date(2026, 3, 20)}


def refusals(ctx: AppContext) -> list[AuditEvent]:
    with ctx.unit_of_work() as uow:
        stmt = (
            sa.select(AuditEvent)
            .where(AuditEvent.action == REFUSED_ACTION)
            .order_by(AuditEvent.occurred_at, AuditEvent.seq)
        )
        return list(uow.session.scalars(stmt))


def attendance_rows(ctx: AppContext) -> int:
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(AttendanceEvent)) or 0


def enrolled(ctx: AppContext, world: TrainingWorld, holder: int = 0) -> uuid.UUID:
    voucher_id = issue(ctx, world.scheme.code, world.people[holder]).voucher_id
    enrol(ctx, voucher_id, world.institution, world.course.course_code)
    return voucher_id


def refuse(
    ctx: AppContext, clock: Clock, voucher_id: uuid.UUID, device: str | None = "door-1"
) -> None:
    """One check-in before the course starts, refused; the clock moves a minute on."""
    clock.advance(timedelta(minutes=1))
    with pytest.raises(AttendanceOutsideCourseDates):
        training.record_attendance(
            ctx, voucher_id, FACE, clock.now - timedelta(minutes=1), 60, device
        )


def test_a_refused_event_leaves_an_audit_event_without_the_id_number_and_no_attendance(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, course=LATER_COURSE)
    voucher_id = enrolled(ctx, world)
    clock.advance(timedelta(hours=1))
    at = clock.now - timedelta(minutes=10)

    with pytest.raises(AttendanceOutsideCourseDates, match="before the course starts") as error:
        training.record_attendance(ctx, voucher_id, FACE, at, 60, "door-1")

    assert error.value.code == "attendance_outside_course_dates"
    assert attendance_rows(ctx) == 0
    [event] = refusals(ctx)
    with ctx.unit_of_work() as uow:
        enrolment = uow.vouchers.active_enrolment(voucher_id)
        voucher = uow.vouchers.get(voucher_id)
        assert enrolment is not None
        assert voucher is not None
        assert (event.entity_type, event.entity_id) == ("enrolment", str(enrolment.id))
        assert event.region_code == voucher.region_code
    assert event.payload == {
        "rule": "attendance_outside_course_dates",
        "institution_id": str(institution_id_by_code(ctx, world.institution)),
        "device_id": "door-1",
        "source": "face",
        "occurred_at": at.isoformat(),
    }
    holder = world.people[0]
    for kept in (str(event.payload), event.actor, event.entity_id):
        assert holder.resident_id not in kept
        assert holder.name not in kept
    assert event.seq is not None  # in the province's chain, which still verifies
    checked = verify_audit_chain(ctx)
    assert checked.intact
    assert checked.events >= 1


def test_a_failed_refusal_record_still_raises_the_rule_broken(
    ctx: AppContext, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = training_world(ctx, course=LATER_COURSE)
    voucher_id = enrolled(ctx, world)
    clock.advance(timedelta(hours=1))

    def database_gone(_refusal: object) -> dict[str, Any]:
        raise DatabaseUnavailable("the database connection broke")

    monkeypatch.setattr(attendance_refusals, "refusal_payload", database_gone)
    refuse(ctx, clock, voucher_id)  # AttendanceOutsideCourseDates, not DatabaseUnavailable

    assert refusals(ctx) == []
    assert attendance_rows(ctx) == 0


def test_the_file_import_and_the_bulk_endpoint_audit_each_refused_row(
    ctx: AppContext, clock: Clock, client: TestClient
) -> None:
    world = training_world(ctx, course={"end_date": date(2026, 3, 5)})
    voucher_id = enrolled(ctx, world)
    clock.advance(timedelta(days=5))  # 7 March in Shanghai: the course has ended
    good, late = clock.now - timedelta(days=4), clock.now
    path = write_csv(
        ctx.settings.data_dir / "attendance.csv",
        ("voucher_id", "source", "minutes", "occurred_at", "device_id"),
        [
            (voucher_id, "face", 60, good.isoformat(), "door-1"),
            (voucher_id, "face", 60, late.isoformat(), "door-2"),
            (voucher_id, "card", 60, (late - timedelta(hours=1)).isoformat(), ""),
        ],
    )

    report = record_attendance_file(ctx, path)

    assert report.recorded == 1
    assert [p.line for p in report.problems] == [3, 4]
    assert [(e.payload["device_id"], e.payload["source"]) for e in refusals(ctx)] == [
        ("door-2", "face"),
        (None, "card"),
    ]

    device = api_key_headers(
        ctx,
        Role.INSTITUTION_STAFF,
        [Permission.ATTENDANCE_RECORD],
        institution_id=institution_id_by_code(ctx, world.institution),
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
    assert len(refusals(ctx)) == 3
    assert attendance_rows(ctx) == 2
    assert verify_audit_chain(ctx).intact


def flags_of(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/risk-flags", headers=headers, params={"rule": RULE})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_an_institution_is_flagged_once_its_refusals_cross_the_threshold(
    ctx: AppContext, clock: Clock, client: TestClient
) -> None:
    world = training_world(ctx, people=2, course=LATER_COURSE)
    first, second = enrolled(ctx, world, 0), enrolled(ctx, world, 1)
    clock.advance(timedelta(hours=1))
    devices = ["door-1", "door-2", None]
    for i in range(REFUSED_ATTENDANCE_MIN - 1):
        refuse(ctx, clock, first if i % 2 else second, devices[i % 3])
    admin = staff_headers(ctx, Role.CITY_ADMIN)

    assert flags_of(client, admin) == []  # one short of the threshold

    refuse(ctx, clock, first, "door-1")
    [flag] = flags_of(client, admin)
    assert flag["rule"] == RULE
    assert (flag["title_zh"], flag["title_en"]) == (
        "反复出现不可能的考勤",
        "Repeated impossible attendance",
    )
    assert flag["subject_type"] == "institution"
    assert flag["subject_id"] == str(institution_id_by_code(ctx, world.institution))
    assert flag["severity"] == "medium"
    evidence = flag["evidence"]
    assert evidence["refusals"] == REFUSED_ATTENDANCE_MIN
    assert evidence["refusals_by_rule"] == [
        f"attendance_outside_course_dates: {REFUSED_ATTENDANCE_MIN}"
    ]
    # Of the nine before: door-1, door-2 and no device in turn (3 each), then door-1 again.
    assert evidence["devices"] == ["door-1: 4", "door-2: 3"]
    recorded = refusals(ctx)
    assert evidence["first_refused_at"] == recorded[0].occurred_at.isoformat()
    assert evidence["last_refused_at"] == recorded[-1].occurred_at.isoformat()
    assert evidence["window_days"] == REFUSED_ATTENDANCE_WINDOW.days
    for holder in world.people:
        assert holder.resident_id not in str(flag)

    # Another city's administrator does not see it; the whole list carries it.
    assert flags_of(client, staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)) == []
    everything = client.get("/api/v1/risk-flags", headers=admin).json()["items"]
    assert RULE in {f["rule"] for f in everything}

    sign_in_staff_page(client, ctx, Role.CITY_ADMIN)
    page = client.get("/admin/risk")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "反复出现不可能的考勤" in text
    assert "按设备统计的拒绝次数" in text
    assert "door-1: 4" in text
    filtered = client.get("/admin/risk", params={"rule": RULE})
    assert "反复出现不可能的考勤" in text_of(filtered.text)

    # A week after the first refusal it falls out of the window, and the flag with it.
    clock.advance(recorded[0].occurred_at + REFUSED_ATTENDANCE_WINDOW - clock.now)
    admin = staff_headers(ctx, Role.CITY_ADMIN)  # a week on, the first sign-in has expired
    assert flags_of(client, admin) != []  # the first refusal is still just inside
    clock.advance(timedelta(seconds=1))
    assert flags_of(client, admin) == []
