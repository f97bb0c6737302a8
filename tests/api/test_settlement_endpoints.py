"""Settlement through HTTP: an administrator builds the period's batches for the institutions
within their city, another approves, the payment file comes back as CSV, the batch is marked
paid; institutions read only their own statements and another city finds nothing."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from builders import (
    OTHER_CITY,
    Clock,
    deposit,
    enrol,
    import_course,
    import_institution,
    import_people,
    issue,
    make_scheme,
    person,
    training_world,
)
from principals import PASSWORD, bearer, staff_account
from skillvoucher.application import settlement_batches, training
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.settlement_batches import PAYMENT_FILE_COLUMNS
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.domain.access import Role
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.timekeeping import show, start_of_local_day

CITY = "140100"
MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
COURSE_MINUTES = 80 * 60  # the builders' course has 80 hours
PROBLEM_JSON = "application/problem+json"


def trained(ctx: AppContext, clock: Clock, scheme: str, holder: Any, school: str) -> uuid.UUID:
    """A voucher enrolled at ``school``, attended in full, completed and certified."""
    voucher_id = issue(ctx, scheme, holder).voucher_id
    enrol(ctx, voucher_id, school)
    for _ in range(COURSE_MINUTES // 480):
        clock.advance(timedelta(days=1))
        training.record_attendance(ctx, voucher_id, AttendanceSource.FACE, clock.now, 480, "d1")
    training.record_completion(ctx, voucher_id, f"CERT-{voucher_id.hex[:8]}", SkillLevel.LEVEL_5)
    return voucher_id


def institution_id(ctx: AppContext, code: str) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        found = uow.catalogue.institution_by_code(code)
        assert found is not None
        return found.id


def signed_in(
    ctx: AppContext,
    role: Role = Role.CITY_ADMIN,
    region: str | None = CITY,
    institution: uuid.UUID | None = None,
) -> tuple[str, dict[str, str]]:
    """(audit label, bearer headers) of a new staff member."""
    username = staff_account(ctx, role, region_code=region, institution_id=institution)
    return f"staff:{username}", bearer(sign_in_staff(ctx, username, PASSWORD).token)


@dataclass(frozen=True)
class Stage:
    school: str  # our institution's credit code (Taiyuan)
    second_school: str  # another institution in Taiyuan
    datong_school: str  # an institution in Datong, with its own scheme and trainee


@pytest.fixture
def stage(ctx: AppContext, clock: Clock) -> Stage:
    world = training_world(ctx, people=2)
    trained(ctx, clock, world.scheme.code, world.people[0], world.institution)
    second = import_institution(ctx, name="太原市恒信职业技能培训学校")
    import_course(ctx, second)
    trained(ctx, clock, world.scheme.code, world.people[1], second)

    holder = person(region=OTHER_CITY, name="大同学员")
    import_people(ctx, [holder])
    datong = import_institution(ctx, region=OTHER_CITY, name="大同市云冈职业技能培训学校")
    import_course(ctx, datong)
    deposit(ctx, region=OTHER_CITY)
    scheme = make_scheme(ctx, code="DT-2026-IND", name="大同市培训券", region=OTHER_CITY)
    trained(ctx, clock, scheme.code, holder, datong)
    return Stage(world.institution, second, datong)


def build(client: TestClient, headers: dict[str, str], **extra: Any) -> Any:
    return client.post("/api/v1/settlement/runs", headers=headers, json={**MARCH, **extra})


def assert_not_found(answer: Any) -> None:
    assert answer.status_code == 404, answer.json()
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["code"] == "not_found"


def batch_events(ctx: AppContext, batch_id: str) -> list[tuple[str, str]]:
    with ctx.unit_of_work() as uow:
        return [(e.action, e.actor) for e in uow.audit.for_entity("settlement_batch", batch_id)]


def test_build_approve_publish_export_and_pay_within_the_city(
    client: TestClient, ctx: AppContext, clock: Clock, stage: Stage
) -> None:
    builder, builds = signed_in(ctx)
    approver, approves = signed_in(ctx)

    run = build(client, builds)
    assert run.status_code == 201, run.json()
    created = {b["institution_code"]: b for b in run.json()["created"]}
    # Only Taiyuan's institutions: Datong's trainee waits for Datong's own run.
    assert created.keys() == {stage.school, stage.second_school}
    assert run.json()["vouchers_settled"] == 2
    ours = created[stage.school]
    assert (ours["status"], ours["total_fen"], ours["line_count"]) == ("draft", 150_000, 2)
    bid = ours["batch_id"]

    details = client.get(f"/api/v1/settlement/batches/{bid}", headers=approves)
    assert details.status_code == 200, details.json()
    assert details.json()["region_code"] == CITY
    assert [
        (s["stage_index"], s["evidence"], s["lines"], s["amount_fen"], s["withheld_fen"])
        for s in details.json()["stages"]
    ] == [(0, "enrolment", 1, 45_000, 0), (1, "certificate", 1, 105_000, 0)]

    early = client.post(
        "/api/v1/settlement/payment-file", headers=approves, json={"batch_ids": [bid]}
    )
    assert (early.status_code, early.json()["code"]) == (409, "illegal_transition")
    unpaid = client.post(
        f"/api/v1/settlement/batches/{bid}/paid", headers=approves, json={"payment_reference": "T"}
    )
    assert (unpaid.status_code, unpaid.json()["code"]) == (409, "illegal_transition")

    approved = client.post(f"/api/v1/settlement/batches/{bid}/approve", headers=approves)
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    again = client.post(f"/api/v1/settlement/batches/{bid}/approve", headers=approves)
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    shown = client.get(f"/api/v1/settlement/batches/{bid}", headers=builds).json()
    assert shown["approved_by"] == approver
    assert shown["second_approved_by"] is None  # a small batch: one approval is enough
    # Approved is not public yet: no payment file, no payment.
    not_public = client.post(
        "/api/v1/settlement/payment-file", headers=approves, json={"batch_ids": [bid]}
    )
    assert (not_public.status_code, not_public.json()["code"]) == (409, "illegal_transition")

    published = client.post(f"/api/v1/settlement/batches/{bid}/publish", headers=approves)
    assert published.status_code == 200, published.json()
    assert published.json()["status"] == "published"
    # Published on Monday 2 March 09:00 CST (plus the days of training): the day of publication
    # does not count, five whole days follow, and the notice ends at midnight in Shanghai.
    until = datetime.fromisoformat(published.json()["notice_until"])
    assert until == start_of_local_day(clock.today + timedelta(days=6))
    shown = client.get(f"/api/v1/settlement/batches/{bid}", headers=builds).json()
    assert (shown["published_by"], shown["summary"]["notice_until"]) == (
        approver,
        published.json()["notice_until"],
    )
    twice = client.post(f"/api/v1/settlement/batches/{bid}/publish", headers=approves)
    assert (twice.status_code, twice.json()["code"]) == (409, "illegal_transition")

    exported = client.post(
        "/api/v1/settlement/payment-file", headers=approves, json={"batch_ids": [bid, bid]}
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == list(PAYMENT_FILE_COLUMNS)
    [row] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert (row["batch_id"], row["institution_credit_code"], row["amount_fen"]) == (
        bid,
        stage.school,
        "150000",
    )
    assert (row["amount_yuan"], row["approved_by"]) == ("1500.00", approver)
    assert (row["second_approved_by"], row["notice_until"]) == ("", show(until))

    clock.set(until - timedelta(seconds=1))
    # Days later: the approver's sign-in of that morning has expired; they sign in again.
    approves = bearer(sign_in_staff(ctx, approver.removeprefix("staff:"), PASSWORD).token)
    builds = bearer(sign_in_staff(ctx, builder.removeprefix("staff:"), PASSWORD).token)
    during_notice = client.post(
        f"/api/v1/settlement/batches/{bid}/paid",
        headers=approves,
        json={"payment_reference": "TR-2026-0001"},
    )
    assert during_notice.status_code == 409, during_notice.json()
    assert during_notice.headers["content-type"] == PROBLEM_JSON
    assert during_notice.json()["code"] == "notice_not_over"
    assert client.get(f"/api/v1/settlement/batches/{bid}", headers=builds).json()["paid_at"] is None

    clock.set(until)
    paid = client.post(
        f"/api/v1/settlement/batches/{bid}/paid",
        headers=approves,
        json={"payment_reference": "TR-2026-0001"},
    )
    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "paid"
    assert (
        client.get(f"/api/v1/settlement/batches/{bid}", headers=builds).json()["payment_reference"]
        == "TR-2026-0001"
    )

    assert batch_events(ctx, bid) == [
        ("settlement.batch_built", builder),
        ("settlement.batch_approved", approver),
        ("settlement.batch_published", approver),
        ("settlement.payment_file_exported", approver),
        ("settlement.batch_paid", approver),
    ]
    assert ledger_problems(ctx) == []
    assert all(row.agrees for row in settlement_batches.reconcile(ctx))

    rerun = build(client, builds)
    assert rerun.status_code == 201
    assert rerun.json()["created"] == []  # every stage is settled: nothing twice


def test_another_city_finds_none_of_our_batches(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    _, taiyuan = signed_in(ctx)
    _, datong = signed_in(ctx, region=OTHER_CITY)
    bid = build(client, taiyuan).json()["created"][0]["batch_id"]
    unknown = str(uuid.uuid4())

    for batch in (bid, unknown):
        assert_not_found(client.get(f"/api/v1/settlement/batches/{batch}", headers=datong))
        assert_not_found(client.post(f"/api/v1/settlement/batches/{batch}/approve", headers=datong))
        assert_not_found(client.post(f"/api/v1/settlement/batches/{batch}/publish", headers=datong))
        assert_not_found(
            client.post(
                f"/api/v1/settlement/batches/{batch}/paid",
                headers=datong,
                json={"payment_reference": "x"},
            )
        )
        assert_not_found(
            client.post(
                "/api/v1/settlement/payment-file", headers=datong, json={"batch_ids": [batch]}
            )
        )
    assert client.get("/api/v1/settlement/batches", headers=datong).json()["items"] == []
    assert_not_found(build(client, datong, institution_id=str(institution_id(ctx, stage.school))))

    # Datong's own run builds Datong's batch only.
    theirs = build(client, datong).json()["created"]
    assert [b["institution_code"] for b in theirs] == [stage.datong_school]
    # ... which Taiyuan, in turn, cannot export alongside its own.
    assert client.post(f"/api/v1/settlement/batches/{bid}/approve", headers=taiyuan).is_success
    assert client.post(f"/api/v1/settlement/batches/{bid}/publish", headers=taiyuan).is_success
    mixed = client.post(
        "/api/v1/settlement/payment-file",
        headers=taiyuan,
        json={"batch_ids": [bid, theirs[0]["batch_id"]]},
    )
    assert_not_found(mixed)


def test_one_institution_can_be_built_alone(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    _, admin = signed_in(ctx)
    run = build(client, admin, institution_id=str(institution_id(ctx, stage.second_school)))
    assert run.status_code == 201, run.json()
    assert [b["institution_code"] for b in run.json()["created"]] == [stage.second_school]


def test_an_institution_reads_only_its_own_statements(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    _, admin = signed_in(ctx)
    created = {b["institution_code"]: b["batch_id"] for b in build(client, admin).json()["created"]}
    _, school = signed_in(
        ctx, Role.INSTITUTION_STAFF, institution=institution_id(ctx, stage.school)
    )

    listed = client.get("/api/v1/settlement/batches", headers=school)
    assert listed.status_code == 200, listed.json()
    assert [b["batch_id"] for b in listed.json()["items"]] == [created[stage.school]]
    own = client.get(f"/api/v1/settlement/batches/{created[stage.school]}", headers=school)
    assert own.status_code == 200
    assert_not_found(
        client.get(f"/api/v1/settlement/batches/{created[stage.second_school]}", headers=school)
    )
    refused = client.post(
        f"/api/v1/settlement/batches/{created[stage.school]}/approve", headers=school
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "access_denied")
    assert build(client, school).status_code == 403


def test_batches_page_newest_first_and_filter_by_status(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    _, admin = signed_in(ctx)
    _, nation_wide_auditor = signed_in(ctx, Role.AUDITOR, region=None)
    build(client, admin)
    _, datong = signed_in(ctx, region=OTHER_CITY)
    build(client, datong)

    first = client.get("/api/v1/settlement/batches", headers=admin, params={"limit": 1}).json()
    assert len(first["items"]) == 1
    assert first["next_cursor"] is not None
    rest = client.get(
        "/api/v1/settlement/batches",
        headers=admin,
        params={"limit": 1, "cursor": first["next_cursor"]},
    ).json()
    assert rest["next_cursor"] is None
    ids = [b["batch_id"] for b in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)
    codes = {b["institution_code"] for b in first["items"] + rest["items"]}
    assert codes == {stage.school, stage.second_school}

    everything = client.get("/api/v1/settlement/batches", headers=nation_wide_auditor).json()
    assert len(everything["items"]) == 3
    client.post(f"/api/v1/settlement/batches/{ids[0]}/approve", headers=admin)
    approved = client.get(
        "/api/v1/settlement/batches", headers=admin, params={"status": "approved"}
    ).json()["items"]
    assert [b["batch_id"] for b in approved] == [ids[0]]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/settlement/runs", {"period_start": "2026-03-31", "period_end": "2026-03-01"}),
        ("/api/v1/settlement/runs", {"period_start": "March", "period_end": "2026-03-31"}),
        ("/api/v1/settlement/runs", {"period_start": "2026-03-01", "period_end": "9999-12-31"}),
        ("/api/v1/settlement/runs", {**MARCH, "institution_id": "not-a-uuid"}),
        ("/api/v1/settlement/runs", {**MARCH, "extra": 1}),
        ("/api/v1/settlement/payment-file", {"batch_ids": []}),
        ("/api/v1/settlement/payment-file", {"batch_ids": ["nope"]}),
        ("/api/v1/settlement/payment-file", {"batch_ids": [str(uuid.uuid4())] * 501}),
        (f"/api/v1/settlement/batches/{uuid.uuid4()}/paid", {"payment_reference": "x" * 61}),
        (f"/api/v1/settlement/batches/{uuid.uuid4()}/paid", {}),
    ],
)
def test_bad_input_is_a_problem(
    client: TestClient, ctx: AppContext, path: str, body: dict[str, Any] | None
) -> None:
    _, admin = signed_in(ctx)
    answer = client.post(path, headers=admin, json=body)
    assert answer.status_code == 422, answer.json()
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["code"] in {"request_invalid", "invalid_input"}


def test_a_malformed_batch_id_is_no_route(client: TestClient, ctx: AppContext) -> None:
    _, admin = signed_in(ctx)
    answer = client.post("/api/v1/settlement/batches/not-a-uuid/approve", headers=admin)
    assert (answer.status_code, answer.json()["code"]) == (404, "http_error")
    assert answer.headers["content-type"] == PROBLEM_JSON


def test_settlement_needs_sign_in_and_permission(client: TestClient, ctx: AppContext) -> None:
    assert build(client, {}).status_code == 401
    _, auditor = signed_in(ctx, Role.AUDITOR)
    assert build(client, auditor).status_code == 403
    assert client.get("/api/v1/settlement/batches", headers=auditor).status_code == 200
    exported = client.post(
        "/api/v1/settlement/payment-file", headers=auditor, json={"batch_ids": [str(uuid.uuid4())]}
    )
    assert (exported.status_code, exported.json()["code"]) == (403, "access_denied")
