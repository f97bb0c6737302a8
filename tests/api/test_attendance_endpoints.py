"""Attendance and completion through HTTP: an institution's devices report events for its own
enrolments, once each; malformed events are 422 problems, never 500."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from builders import Clock, enrol, import_course, import_institution, issue, training_world
from principals import api_key_headers, staff_headers, worker_headers
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import cancel_enrolment
from skillvoucher.domain.access import Permission, Role

P = Permission
PROBLEM_JSON = "application/problem+json"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEVICE_SCOPES = [P.ATTENDANCE_RECORD, P.COMPLETION_RECORD]


@dataclass(frozen=True)
class Trainees:
    enrolments: list[uuid.UUID]
    vouchers: list[uuid.UUID]
    holders: list[uuid.UUID]
    device: dict[str, str]  # the institution's check-in device key
    device_label: str
    other_device: dict[str, str]  # another institution's


def _institution_id(ctx: AppContext, code: str) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(code)
        assert institution is not None
        return institution.id


def _holder(ctx: AppContext, voucher_id: uuid.UUID) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        return voucher.person_id


@pytest.fixture
def trainees(ctx: AppContext, clock: Clock) -> Trainees:
    world = training_world(ctx, people=2)
    vouchers = [issue(ctx, world.scheme.code, p).voucher_id for p in world.people]
    enrolments = [enrol(ctx, v, world.institution).enrolment_id for v in vouchers]
    other = import_institution(ctx, name="太原市另一家培训学校")
    import_course(ctx, other)
    device = api_key_headers(
        ctx,
        Role.INSTITUTION_STAFF,
        DEVICE_SCOPES,
        institution_id=_institution_id(ctx, world.institution),
    )
    other_device = api_key_headers(
        ctx, Role.INSTITUTION_STAFF, DEVICE_SCOPES, institution_id=_institution_id(ctx, other)
    )
    prefix = device["Authorization"].removeprefix("Bearer svk_").split("_")[0]
    clock.advance(timedelta(days=3))
    return Trainees(
        enrolments,
        vouchers,
        [_holder(ctx, v) for v in vouchers],
        device,
        f"key:{prefix}",
        other_device,
    )


def event(
    clock: Clock, *, minutes: int = 120, hours_ago: int = 2, **target: uuid.UUID
) -> dict[str, Any]:
    occurred = (clock.now - timedelta(hours=hours_ago)).astimezone(SHANGHAI).isoformat()
    return {
        **{k: str(v) for k, v in target.items()},
        "source": "face",
        "occurred_at": occurred,
        "minutes": minutes,
        "device_id": "gate-1",
    }


def post(client: TestClient, headers: dict[str, str], body: object, bulk: bool = False) -> Any:
    path = "/api/v1/attendance/bulk" if bulk else "/api/v1/attendance"
    return client.post(path, json=body, headers=headers)


def _actors(ctx: AppContext, voucher_id: uuid.UUID, action: str) -> list[str]:
    with ctx.unit_of_work() as uow:
        return [e.actor for e in uow.audit.for_entity("voucher", voucher_id) if e.action == action]


def test_one_event_is_recorded_once_and_a_resend_is_acknowledged(
    client: TestClient, ctx: AppContext, clock: Clock, trainees: Trainees
) -> None:
    body = event(clock, enrolment_id=trainees.enrolments[0])
    first = post(client, trainees.device, body)
    assert first.status_code == 201, first.json()
    assert first.json() == {
        "enrolment_id": str(trainees.enrolments[0]),
        "voucher_id": str(trainees.vouchers[0]),
        "recorded": True,
        "attended_minutes": 120,
        "attendance_percent": 2,  # of an 80-hour course
    }
    again = post(client, trainees.device, body)
    assert again.status_code == 200, again.json()
    assert (again.json()["recorded"], again.json()["attended_minutes"]) == (False, 120)

    # By voucher: the voucher's live enrolment, here the same one.
    by_voucher = post(
        client, trainees.device, event(clock, hours_ago=26, voucher_id=trainees.vouchers[0])
    )
    assert by_voucher.status_code == 201, by_voucher.json()
    assert by_voucher.json()["enrolment_id"] == str(trainees.enrolments[0])
    assert by_voucher.json()["attended_minutes"] == 240
    assert _actors(ctx, trainees.vouchers[0], "voucher.attended") == [trainees.device_label] * 2
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(trainees.vouchers[0])
        assert voucher is not None
        assert voucher.status == "in_training"


def test_another_institutions_key_finds_no_such_enrolment(
    client: TestClient, clock: Clock, trainees: Trainees
) -> None:
    enrolment_id, voucher_id = trainees.enrolments[0], trainees.vouchers[0]
    by_enrolment = post(client, trainees.other_device, event(clock, enrolment_id=enrolment_id))
    by_voucher = post(client, trainees.other_device, event(clock, voucher_id=voucher_id))
    missing_id = uuid.uuid4()
    missing = post(client, trainees.other_device, event(clock, enrolment_id=missing_id))
    assert by_enrolment.status_code == by_voucher.status_code == missing.status_code == 404
    assert by_enrolment.json()["detail"] == missing.json()["detail"].replace(
        str(missing_id), str(enrolment_id)
    )
    assert by_voucher.json()["code"] == "not_found"


def test_roles_without_attendance_record_are_refused(
    client: TestClient, ctx: AppContext, clock: Clock, trainees: Trainees
) -> None:
    body = event(clock, enrolment_id=trainees.enrolments[0])
    worker = post(client, worker_headers(ctx, trainees.holders[0]), body)
    admin = post(client, staff_headers(ctx, Role.CITY_ADMIN), body)
    assert worker.status_code == admin.status_code == 403
    assert post(client, {}, body).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"minutes": 0},
        {"minutes": 24 * 60 + 1},
        {"minutes": "lots"},
        {"occurred_at": "2026-03-02T09:00:00"},  # no offset
        {"occurred_at": "yesterday"},
        {"source": "telepathy"},
        {"unexpected": True},
        {"device_id": "d" * 65},
        {"voucher_id": "00000000-0000-0000-0000-000000000000"},  # both ids
        {"enrolment_id": None},  # neither
    ],
)
def test_malformed_events_are_422_problems(
    client: TestClient, clock: Clock, trainees: Trainees, change: dict[str, Any]
) -> None:
    body = event(clock, enrolment_id=trainees.enrolments[0]) | change
    body = {k: v for k, v in body.items() if v is not None}
    for answer in (
        post(client, trainees.device, body),
        post(client, trainees.device, {"events": [body]}, bulk=True),
    ):
        assert answer.status_code == 422, answer.json()
        assert answer.json()["code"] == "request_invalid"
        assert answer.headers["content-type"] == PROBLEM_JSON


def test_an_event_in_the_future_or_for_a_cancelled_enrolment_is_refused(
    client: TestClient, ctx: AppContext, clock: Clock, trainees: Trainees
) -> None:
    future = post(
        client, trainees.device, event(clock, hours_ago=-1, enrolment_id=trainees.enrolments[0])
    )
    assert (future.status_code, future.json()["code"]) == (422, "invalid_input")
    cancel_enrolment(ctx, trainees.vouchers[1], "改期")
    cancelled = post(client, trainees.device, event(clock, enrolment_id=trainees.enrolments[1]))
    assert (cancelled.status_code, cancelled.json()["code"]) == (409, "illegal_transition")


def test_bulk_records_the_good_events_and_reports_the_rest_by_index(
    client: TestClient, ctx: AppContext, clock: Clock, trainees: Trainees
) -> None:
    events = [
        event(clock, hours_ago=30, enrolment_id=trainees.enrolments[0]),
        event(clock, enrolment_id=uuid.uuid4()),
        event(clock, hours_ago=6, voucher_id=trainees.vouchers[1]),
        event(clock, hours_ago=-2, enrolment_id=trainees.enrolments[0]),
        event(clock, hours_ago=4, enrolment_id=trainees.enrolments[0]),
    ]
    first = post(client, trainees.device, {"events": events}, bulk=True)
    assert first.status_code == 200, first.json()
    report = first.json()
    assert (report["recorded"], report["duplicates"]) == (3, 0)
    assert [(p["index"], p["code"]) for p in report["problems"]] == [
        (1, "not_found"),
        (3, "invalid_input"),
    ]
    # Re-running the same batch records nothing twice.
    again = post(client, trainees.device, {"events": events}, bulk=True).json()
    assert (again["recorded"], again["duplicates"]) == (0, 3)
    assert again["problems"] == report["problems"]
    assert len(_actors(ctx, trainees.vouchers[0], "voucher.attended")) == 2
    # Another institution's device may record none of them.
    stranger = post(client, trainees.other_device, {"events": events}, bulk=True).json()
    assert stranger["recorded"] == stranger["duplicates"] == 0
    assert [p["code"] for p in stranger["problems"]] == ["not_found"] * len(events)


def test_bulk_takes_at_most_a_thousand_events(
    client: TestClient, clock: Clock, trainees: Trainees
) -> None:
    many = [
        event(clock, hours_ago=1000 - i, enrolment_id=trainees.enrolments[0]) for i in range(1001)
    ]
    too_many = post(client, trainees.device, {"events": many}, bulk=True)
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "request_invalid"
    none = post(client, trainees.device, {"events": []}, bulk=True)
    assert none.status_code == 422
    assert post(client, trainees.device, [1, 2], bulk=True).status_code == 422
    broken = client.post(
        "/api/v1/attendance/bulk",
        content=b'{"events": [',
        headers={**trainees.device, "content-type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.headers["content-type"] == PROBLEM_JSON


# --- Completion ----------------------------------------------------------------------------------


def complete(client: TestClient, headers: dict[str, str], enrolment_id: object, **body: Any) -> Any:
    return client.post(f"/api/v1/enrolments/{enrolment_id}/completion", json=body, headers=headers)


def test_a_completion_and_its_certificate_are_recorded(
    client: TestClient, ctx: AppContext, clock: Clock, trainees: Trainees
) -> None:
    enrolment_id, voucher_id = trainees.enrolments[0], trainees.vouchers[0]
    before_training = complete(client, trainees.device, enrolment_id)
    assert (before_training.status_code, before_training.json()["code"]) == (
        409,
        "illegal_transition",
    )
    post(client, trainees.device, event(clock, minutes=600, enrolment_id=enrolment_id))

    elsewhere = complete(client, trainees.other_device, enrolment_id)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "not_found")
    worker = complete(client, worker_headers(ctx, trainees.holders[0]), enrolment_id)
    assert worker.status_code == 403

    done = complete(client, trainees.device, enrolment_id)
    assert done.status_code == 200, done.json()
    assert done.json()["voucher_status"] == "completed"
    assert datetime.fromisoformat(done.json()["completed_at"]).utcoffset() is not None
    assert done.json()["certificate_no"] is None

    certified = complete(
        client,
        trainees.device,
        enrolment_id,
        certificate_no="CERT-2026-0001",
        certificate_level="5",
    )
    assert certified.status_code == 200, certified.json()
    assert (certified.json()["certificate_no"], certified.json()["certificate_level"]) == (
        "CERT-2026-0001",
        "5",
    )
    twice = complete(
        client,
        trainees.device,
        enrolment_id,
        certificate_no="CERT-2026-0002",
        certificate_level="5",
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "illegal_transition")
    actors = _actors(ctx, voucher_id, "voucher.completed") + _actors(
        ctx, voucher_id, "voucher.certified"
    )
    assert actors == [trainees.device_label] * 2


@pytest.mark.parametrize(
    "body",
    [
        {"certificate_no": "CERT-1"},  # without its level
        {"certificate_level": "5"},
        {"certificate_no": "x" * 41, "certificate_level": "5"},
        {"certificate_no": "CERT-1", "certificate_level": "9"},
        {"completed_at": "2026-03-02T09:00:00+08:00"},
    ],
)
def test_malformed_completions_are_422_problems(
    client: TestClient, trainees: Trainees, body: dict[str, Any]
) -> None:
    answer = complete(client, trainees.device, trainees.enrolments[0], **body)
    assert answer.status_code == 422, answer.json()
    assert answer.json()["code"] == "request_invalid"
