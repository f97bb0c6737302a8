"""Risk flags over HTTP (scoped, with their evidence) and suspending or reinstating an
institution (scoped, audited, and felt at once by settlement)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from builders import (
    CITY,
    OTHER_CITY,
    Clock,
    enrol,
    import_course,
    import_institution,
    import_people,
    issue,
    make_scheme,
    person,
    training_world,
)
from principals import staff_headers, worker_headers
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.settlement import run_settlement
from skillvoucher.application.training import record_attendance
from skillvoucher.domain.access import Role
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.risk import DEVICE_MIN_PEOPLE, SPIKE_MIN_ENROLMENTS

SHARED = "13912345678"


def _flagged_world(ctx: AppContext) -> tuple[str, list[str]]:
    """A Taiyuan institution that enrolled a class in one week, and three holders behind one
    mobile number; returns the institution's code and the sharers' resident ids."""
    world = training_world(ctx, people=SPIKE_MIN_ENROLMENTS)
    for holder in world.people:
        enrol(ctx, issue(ctx, world.scheme.code, holder).voucher_id, world.institution)
    sharers = [replace(person(name=f"共用{i}"), mobile=SHARED) for i in range(3)]
    import_people(ctx, sharers)
    for sharer in sharers:
        issue(ctx, world.scheme.code, sharer)
    return world.institution, [s.resident_id for s in sharers]


def _flags(client: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/risk-flags", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_flags_carry_reasons_and_evidence_within_the_callers_scope(
    client: TestClient, ctx: AppContext
) -> None:
    code, _sharers = _flagged_world(ctx)
    institution_id = str(institution_id_by_code(ctx, code))
    city_admin = staff_headers(ctx, Role.CITY_ADMIN, region_code=CITY)

    answer = client.get("/api/v1/risk-flags", headers=city_admin)
    assert answer.status_code == 200
    assert SHARED not in answer.text  # the number is shown masked only
    by_rule = {f["rule"]: f for f in answer.json()["items"]}
    assert set(by_rule) == {"enrolment_spike", "shared_mobile"}

    spike = by_rule["enrolment_spike"]
    assert spike["subject_type"] == "institution"
    assert spike["subject_id"] == institution_id
    assert spike["severity"] == "high"
    assert (spike["title_zh"], spike["title_en"]) == ("报名人数激增", "Enrolment spike")
    assert spike["reason"].startswith(
        f"{SPIKE_MIN_ENROLMENTS} enrolments in the last 7 days against a weekly mean of 0.0"
    )
    assert spike["evidence"]["enrolments_last_7_days"] == SPIKE_MIN_ENROLMENTS

    shared = by_rule["shared_mobile"]
    assert shared["subject_id"] == "139****5678"
    assert shared["evidence"]["holders"] == 3
    assert len(shared["evidence"]["person_ids"]) == 3
    assert shared["reason"] == "3 holders of live vouchers share the mobile number 139****5678"

    # The province sees the same; the auditor may read them; one rule at a time on request.
    province = staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000")
    assert {f["rule"] for f in _flags(client, province)} == set(by_rule)
    auditor = staff_headers(ctx, Role.AUDITOR, region_code=CITY)
    only = _flags(client, auditor, rule="shared_mobile")
    assert [f["rule"] for f in only] == ["shared_mobile"]

    # Another city, another province: nothing of Taiyuan.
    for outsider in (
        staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY),
        staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="110000"),
    ):
        assert _flags(client, outsider) == []


def test_risk_flags_need_the_permission_and_a_known_rule(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx, people=1)
    institution_id = institution_id_by_code(ctx, world.institution)
    with ctx.unit_of_work() as uow:
        holder = uow.people.by_digest(ctx.digest(world.people[0].resident_id))
        assert holder is not None
    for headers in (
        worker_headers(ctx, holder.id),
        staff_headers(ctx, Role.INSTITUTION_STAFF, region_code=None, institution_id=institution_id),
        staff_headers(ctx, Role.NATIONAL_STATISTICIAN, region_code=None),
    ):
        answer = client.get("/api/v1/risk-flags", headers=headers)
        assert answer.status_code == 403
        assert answer.json()["code"] == "access_denied"
    assert client.get("/api/v1/risk-flags").status_code == 401
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    bad = client.get("/api/v1/risk-flags", headers=admin, params={"rule": "astrology"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


def test_suspend_stops_settlement_at_once_and_reinstate_lifts_it(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=1)
    enrol(ctx, issue(ctx, world.scheme.code, world.people[0]).voucher_id, world.institution)
    [batch] = run_settlement(ctx, clock.today, clock.today).created
    institution_id = institution_id_by_code(ctx, world.institution)
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    url = f"/api/v1/institutions/{institution_id}"

    suspended = client.post(f"{url}/suspend", headers=admin, json={"reason": "证书率异常"})
    assert suspended.status_code == 200, suspended.text
    body = suspended.json()
    assert body["approval_status"] == "suspended"
    assert body["suspension_reason"] == "证书率异常"
    assert body["suspended_by"].startswith("staff:")
    assert body["suspended_at"] is not None

    approve = client.post(f"/api/v1/settlement/batches/{batch.batch_id}/approve", headers=admin)
    assert approve.status_code == 409
    assert approve.headers["content-type"] == "application/problem+json"
    assert approve.json()["code"] == "institution_suspended"

    again = client.post(f"{url}/suspend", headers=admin, json={"reason": "again"})
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"

    reinstated = client.post(f"{url}/reinstate", headers=admin)
    assert reinstated.status_code == 200
    assert reinstated.json()["approval_status"] == "approved"
    approve = client.post(f"/api/v1/settlement/batches/{batch.batch_id}/approve", headers=admin)
    assert approve.status_code == 200, approve.text

    events = client.get(
        "/api/v1/audit-events",
        headers=admin,
        params={"entity_type": "institution", "entity_id": str(institution_id)},
    )
    assert events.status_code == 200, events.text
    actions = [e["action"] for e in events.json()["items"] if e["entity_type"] == "institution"]
    assert sorted(actions) == ["institution.reinstated", "institution.suspended"]


def test_suspension_is_scoped_permissioned_and_validated(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx, people=1)
    institution_id = institution_id_by_code(ctx, world.institution)
    url = f"/api/v1/institutions/{institution_id}"
    missing_url = f"/api/v1/institutions/{new_id()}"

    datong = staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)
    outside = client.post(f"{url}/suspend", headers=datong, json={"reason": "x"})
    missing = client.post(f"{missing_url}/suspend", headers=datong, json={"reason": "x"})
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["title"] == missing.json()["title"]
    assert client.post(f"{url}/reinstate", headers=datong).status_code == 404

    auditor = staff_headers(ctx, Role.AUDITOR, region_code=CITY)
    assert client.post(f"{url}/suspend", headers=auditor, json={"reason": "x"}).status_code == 403
    assert client.post(f"{url}/reinstate", headers=auditor).status_code == 403

    admin = staff_headers(ctx, Role.CITY_ADMIN)
    for body in ({}, {"reason": ""}, {"reason": "x" * 201}, {"reason": "x", "extra": 1}):
        answer = client.post(f"{url}/suspend", headers=admin, json=body)
        assert answer.status_code == 422, body
        assert answer.json()["code"] == "request_invalid"
    blank = client.post(f"{url}/suspend", headers=admin, json={"reason": "   "})
    assert blank.status_code == 422
    assert blank.json()["code"] == "invalid_input"
    assert client.post(f"{url}/reinstate", headers=admin).status_code == 409
    assert client.post("/api/v1/institutions/not-a-uuid/suspend", headers=admin).status_code == 404


def test_a_device_across_institutions_and_repeated_training_are_flagged(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=DEVICE_MIN_PEOPLE)
    other = import_institution(ctx, name="太原市并州培训学校")
    import_course(ctx, other)
    second_scheme = make_scheme(
        ctx,
        code="TY-2026-AGAIN",
        eligibility={"one_active_voucher": False, "once_per_occupation_level": False},
    )
    vouchers = []
    for i, holder in enumerate(world.people):
        voucher = issue(ctx, world.scheme.code, holder).voucher_id
        enrol(ctx, voucher, world.institution if i % 2 else other)
        vouchers.append(voucher)
    repeater = world.people[0]
    enrol(ctx, issue(ctx, second_scheme.code, repeater).voucher_id, world.institution)
    clock.advance(timedelta(hours=3))
    for i, voucher in enumerate(vouchers):
        at = clock.now - timedelta(minutes=2 * (i + 1))
        record_attendance(ctx, voucher, AttendanceSource.FACE, at, 60, "KIOSK-1")

    flags = _flags(client, staff_headers(ctx, Role.CITY_ADMIN))
    by_rule = {f["rule"]: f for f in flags}
    device = by_rule["shared_device"]
    assert device["subject_id"] == "KIOSK-1"
    assert device["evidence"]["people"] == DEVICE_MIN_PEOPLE
    assert device["evidence"]["institutions"] == 2
    repeated = by_rule["repeated_training"]
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(repeater.resident_id))
        assert found is not None
    assert repeated["subject_id"] == str(found.id)
    assert repeated["subject_label"] == found.id_masked
    assert repeated["evidence"]["enrolments"] == 2
    assert repeater.resident_id not in str(flags)
