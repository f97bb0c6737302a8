"""Statistics and the audit trail through HTTP, each limited to the caller's region scope."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from builders import (
    OTHER_CITY,
    Clock,
    deposit,
    enrol,
    import_people,
    issue,
    make_scheme,
    person,
    training_world,
)
from principals import PASSWORD, bearer, staff_account
from skillvoucher.application import training
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.application.statistics import compute_statistics
from skillvoucher.domain.access import Role, Scope
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.regions import NATIONWIDE

CITY = "140100"
PROVINCE = "140000"
MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
PROBLEM_JSON = "application/problem+json"


def signed_in(
    ctx: AppContext, role: Role = Role.CITY_ADMIN, region: str | None = CITY
) -> tuple[str, dict[str, str]]:
    """(audit label, bearer headers) of a new staff member."""
    username = staff_account(ctx, role, region_code=region)
    return f"staff:{username}", bearer(sign_in_staff(ctx, username, PASSWORD).token)


def trained(ctx: AppContext, clock: Clock, scheme: str, holder: Any, school: str) -> uuid.UUID:
    """A voucher enrolled at ``school``, attended in full, completed and certified."""
    voucher_id = issue(ctx, scheme, holder).voucher_id
    enrol(ctx, voucher_id, school)
    for _ in range(10):  # 80 hours, eight a day
        clock.advance(timedelta(days=1))
        training.record_attendance(ctx, voucher_id, AttendanceSource.FACE, clock.now, 480, "d1")
    training.record_completion(ctx, voucher_id, f"CERT-{voucher_id.hex[:8]}", SkillLevel.LEVEL_5)
    return voucher_id


@pytest.fixture
def two_cities(ctx: AppContext, clock: Clock) -> None:
    """Taiyuan: three vouchers, one trained. Datong: its own scheme and one voucher."""
    world = training_world(ctx, people=3)
    trained(ctx, clock, world.scheme.code, world.people[0], world.institution)
    for holder in world.people[1:]:
        issue(ctx, world.scheme.code, holder)
    deposit(ctx, 30_000_000, region=OTHER_CITY)
    datong = person(region=OTHER_CITY)
    import_people(ctx, [datong])
    scheme = make_scheme(ctx, code="DT-2026-IND", name="大同市培训券", region=OTHER_CITY)
    issue(ctx, scheme.code, datong)


# --- Statistics --------------------------------------------------------------------------------


@pytest.mark.usefixtures("two_cities")
def test_a_national_statistician_sees_the_figures_of_skillvoucher_stats(
    client: TestClient, ctx: AppContext
) -> None:
    _, nation = signed_in(ctx, Role.NATIONAL_STATISTICIAN, region=None)
    answer = client.get("/api/v1/statistics", headers=nation)
    assert answer.status_code == 200, answer.json()
    assert answer.json() == compute_statistics(ctx).as_json()  # what `stats --json` prints
    assert answer.json()["vouchers_issued"] == 4
    assert {row["key"] for row in answer.json()["by"]["region"]} == {CITY, OTHER_CITY}


@pytest.mark.usefixtures("two_cities")
def test_a_city_sees_its_own_figures_and_a_province_all_of_its_cities(
    client: TestClient, ctx: AppContext
) -> None:
    _, taiyuan = signed_in(ctx)
    mine = client.get("/api/v1/statistics", headers=taiyuan).json()
    assert mine == compute_statistics(ctx, Scope.of_region(CITY)).as_json()
    assert (mine["vouchers_issued"], mine["vouchers_used"], mine["vouchers_certified"]) == (3, 1, 1)
    assert mine["fund_deposited_fen"] == 100_000_000  # the builders' Taiyuan deposit only
    assert [row["key"] for row in mine["by"]["scheme"]] == ["TY-2026-IND"]

    _, datong = signed_in(ctx, region=OTHER_CITY)
    theirs = client.get("/api/v1/statistics", headers=datong).json()
    assert (theirs["vouchers_issued"], theirs["fund_deposited_fen"]) == (1, 30_000_000)

    _, shanxi = signed_in(ctx, Role.PROVINCE_ADMIN, region=PROVINCE)
    province = client.get("/api/v1/statistics", headers=shanxi).json()
    assert province["vouchers_issued"] == 4
    assert province["fund_deposited_fen"] == 130_000_000


def test_statistics_need_their_permission(client: TestClient, ctx: AppContext) -> None:
    assert client.get("/api/v1/statistics").status_code == 401
    world = training_world(ctx, people=1)
    with ctx.unit_of_work() as uow:
        school = uow.catalogue.institution_by_code(world.institution)
        assert school is not None
    username = staff_account(ctx, Role.INSTITUTION_STAFF, institution_id=school.id)
    headers = bearer(sign_in_staff(ctx, username, PASSWORD).token)
    refused = client.get("/api/v1/statistics", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "access_denied")


# --- Audit events --------------------------------------------------------------------------------


def events(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/audit-events", headers=headers, params=params)
    assert answer.status_code == 200, answer.json()
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


@pytest.mark.usefixtures("two_cities")
def test_audit_events_name_the_caller_newest_first(client: TestClient, ctx: AppContext) -> None:
    builder, builds = signed_in(ctx)
    approver, approves = signed_in(ctx)
    [batch] = client.post("/api/v1/settlement/runs", headers=builds, json=MARCH).json()["created"]
    bid = batch["batch_id"]
    assert client.post(f"/api/v1/settlement/batches/{bid}/approve", headers=approves).is_success

    trail = events(client, approves, entity_type="settlement_batch", entity_id=bid)
    assert [(e["action"], e["actor"], e["region_code"]) for e in trail] == [
        ("settlement.batch_approved", approver, CITY),
        ("settlement.batch_built", builder, CITY),
    ]
    assert trail[0]["payload"] == {"total_fen": 150_000}
    by_builder = events(client, approves, actor=builder)
    assert {e["action"] for e in by_builder} == {
        "account.signed_in",
        "settlement.batch_built",
        "voucher.settled",
    }
    approvals = events(client, approves, action="settlement.batch_approved")
    assert [e["entity_id"] for e in approvals] == [bid]

    # Another city sees none of it, and not even that it exists.
    _, datong = signed_in(ctx, region=OTHER_CITY)
    assert events(client, datong, entity_id=bid) == []
    assert all(e["region_code"].startswith("1402") for e in events(client, datong, limit=200))


def test_nationwide_events_are_for_a_nationwide_scope_only(
    client: TestClient, ctx: AppContext
) -> None:
    _, taiyuan = signed_in(ctx)
    _, shanxi = signed_in(ctx, Role.PROVINCE_ADMIN, region=PROVINCE)
    _, nation = signed_in(ctx, Role.AUDITOR, region=None)
    regions = {e["region_code"] for e in events(client, nation, limit=200)}
    assert {NATIONWIDE, CITY, PROVINCE} <= regions
    assert {e["region_code"] for e in events(client, taiyuan, limit=200)} == {CITY}
    assert {e["region_code"] for e in events(client, shanxi, limit=200)} == {CITY, PROVINCE}


def test_audit_events_page_and_filter_by_time(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    _, auditor = signed_in(ctx, Role.AUDITOR)
    for amount in (1, 2, 3):
        deposit(ctx, amount)
    later = clock.advance(timedelta(hours=1))
    deposit(ctx, 4)
    deposit(ctx, 5)

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"action": "fund.deposited", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/audit-events", headers=auditor, params=params).json()
        seen += [e["payload"]["amount_fen"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]

    since = events(client, auditor, action="fund.deposited", since=later.isoformat())
    assert [e["payload"]["amount_fen"] for e in since] == [5, 4]
    until = events(client, auditor, action="fund.deposited", until=later.isoformat())
    assert [e["payload"]["amount_fen"] for e in until] == [3, 2, 1]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-03-02T09:00:00"},  # no offset: ambiguous
        {"since": "yesterday"},
        {"since": "2026-03-02T09:00:00+08:00", "until": "2026-03-01T09:00:00+08:00"},
        {"limit": 0},
        {"limit": 201},
        {"cursor": "not-a-cursor"},
        {"entity_type": "x" * 31},
    ],
)
def test_bad_audit_queries_are_problems(
    client: TestClient, ctx: AppContext, params: dict[str, Any]
) -> None:
    _, auditor = signed_in(ctx, Role.AUDITOR)
    answer = client.get("/api/v1/audit-events", headers=auditor, params=params)
    assert answer.status_code == 422, answer.json()
    assert answer.headers["content-type"] == PROBLEM_JSON


def test_audit_events_need_their_permission(client: TestClient, ctx: AppContext) -> None:
    assert client.get("/api/v1/audit-events").status_code == 401
    _, statistician = signed_in(ctx, Role.NATIONAL_STATISTICIAN, region=None)
    refused = client.get("/api/v1/audit-events", headers=statistician)
    assert (refused.status_code, refused.json()["code"]) == (403, "access_denied")
