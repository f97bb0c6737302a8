"""Four eyes and public notice on settlement batches, through HTTP: a batch of at least the
configured amount needs two different approvers; an approved batch is published for the notice
period, exported meanwhile, and paid only once the notice is over."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from builders import Clock, enrol, issue, training_world
from principals import PASSWORD, bearer, staff_account
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.domain.access import Role
from skillvoucher.domain.ledger import Account
from skillvoucher.domain.timekeeping import start_of_local_day

MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
PROBLEM_JSON = "application/problem+json"
ENROLMENT_STAGE_FEN = 45_000  # 30 % of the builders' 1,500-yuan voucher
BATCH_FEN = 2 * ENROLMENT_STAGE_FEN


@dataclass
class Staff:
    """A city administrator: the label the audit trail names, and fresh headers on demand."""

    ctx: AppContext
    username: str

    @property
    def label(self) -> str:
        return f"staff:{self.username}"

    @property
    def headers(self) -> dict[str, str]:
        # Signed in anew each time: the clock jumps days ahead, past any session's end.
        return bearer(sign_in_staff(self.ctx, self.username, PASSWORD).token)


def city_admin(ctx: AppContext) -> Staff:
    return Staff(ctx, staff_account(ctx, Role.CITY_ADMIN))


@pytest.fixture
def batch_id(client: TestClient, ctx: AppContext) -> str:
    """A Taiyuan draft batch of two enrolment stages (BATCH_FEN), built by a city admin."""
    world = training_world(ctx, people=2)
    for holder in world.people:
        enrol(ctx, issue(ctx, world.scheme.code, holder).voucher_id, world.institution)
    run = client.post("/api/v1/settlement/runs", headers=city_admin(ctx).headers, json=MARCH)
    assert run.status_code == 201, run.json()
    [batch] = run.json()["created"]
    assert batch["total_fen"] == BATCH_FEN
    batch_id: str = batch["batch_id"]
    return batch_id


def post(client: TestClient, staff: Staff, batch: str, step: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/settlement/batches/{batch}/{step}", headers=staff.headers, json=body or None
    )


def details(client: TestClient, staff: Staff, batch: str) -> Any:
    answer = client.get(f"/api/v1/settlement/batches/{batch}", headers=staff.headers)
    assert answer.status_code == 200, answer.json()
    return answer.json()


def events(ctx: AppContext, batch: str) -> list[tuple[str, str]]:
    """The batch's audit events after it was built."""
    with ctx.unit_of_work() as uow:
        found = [(e.action, e.actor) for e in uow.audit.for_entity("settlement_batch", batch)]
    assert found[0][0] == "settlement.batch_built"
    return found[1:]


def assert_problem(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.json()
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["code"] == code


def test_a_batch_at_the_four_eyes_amount_needs_two_different_approvers(
    client: TestClient, ctx: AppContext, batch_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctx.settings, "settlement_second_approval_fen", BATCH_FEN)
    first, second = city_admin(ctx), city_admin(ctx)

    once = post(client, first, batch_id, "approve")
    assert once.status_code == 200, once.json()
    assert once.json()["status"] == "approved_once"
    # Half approved is not approved: it can be neither published nor exported.
    assert_problem(post(client, second, batch_id, "publish"), 409, "illegal_transition")
    exported = client.post(
        "/api/v1/settlement/payment-file", headers=second.headers, json={"batch_ids": [batch_id]}
    )
    assert_problem(exported, 409, "illegal_transition")

    again = post(client, first, batch_id, "approve")
    assert_problem(again, 403, "approver_not_independent")
    assert details(client, first, batch_id)["summary"]["status"] == "approved_once"

    done = post(client, second, batch_id, "approve")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "approved"
    shown = details(client, first, batch_id)
    assert (shown["approved_by"], shown["second_approved_by"]) == (first.label, second.label)
    assert shown["second_approved_at"] is not None
    assert_problem(post(client, first, batch_id, "approve"), 409, "illegal_transition")

    assert post(client, second, batch_id, "publish").status_code == 200
    exported = client.post(
        "/api/v1/settlement/payment-file", headers=second.headers, json={"batch_ids": [batch_id]}
    )
    assert exported.status_code == 200
    [row] = csv.DictReader(io.StringIO(exported.text))
    assert (row["approved_by"], row["second_approved_by"]) == (first.label, second.label)

    assert events(ctx, batch_id) == [
        ("settlement.batch_approved_once", first.label),
        ("settlement.batch_approved", second.label),
        ("settlement.batch_published", second.label),
        ("settlement.payment_file_exported", second.label),
    ]


def test_a_batch_below_the_four_eyes_amount_needs_one_approval(
    client: TestClient, ctx: AppContext, batch_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctx.settings, "settlement_second_approval_fen", BATCH_FEN + 1)
    approver = city_admin(ctx)

    approved = post(client, approver, batch_id, "approve")

    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert details(client, approver, batch_id)["second_approved_by"] is None
    assert post(client, approver, batch_id, "publish").json()["status"] == "published"
    assert events(ctx, batch_id) == [
        ("settlement.batch_approved", approver.label),
        ("settlement.batch_published", approver.label),
    ]


def test_a_published_batch_is_paid_only_after_its_notice(
    client: TestClient, ctx: AppContext, clock: Clock, batch_id: str
) -> None:
    approver, publisher, treasurer = city_admin(ctx), city_admin(ctx), city_admin(ctx)
    assert post(client, approver, batch_id, "approve").status_code == 200
    # Approved but not published: paying is as illegal as before.
    early = post(client, treasurer, batch_id, "paid", payment_reference="TR-0")
    assert_problem(early, 409, "illegal_transition")

    published_on = clock.today
    published = post(client, publisher, batch_id, "publish")
    assert published.status_code == 200, published.json()
    until = datetime.fromisoformat(published.json()["notice_until"])
    # Five whole days after the day of publication, to midnight in Shanghai.
    assert until == start_of_local_day(published_on + timedelta(days=6))
    assert details(client, treasurer, batch_id)["published_by"] == publisher.label

    clock.advance(timedelta(days=5))
    during = post(client, treasurer, batch_id, "paid", payment_reference="TR-1")
    assert_problem(during, 409, "notice_not_over")
    assert "2026-03-08 00:00 CST" in during.json()["detail"]
    clock.set(until - timedelta(seconds=1))
    assert_problem(
        post(client, treasurer, batch_id, "paid", payment_reference="TR-1"), 409, "notice_not_over"
    )
    assert details(client, treasurer, batch_id)["summary"]["status"] == "published"
    with ctx.unit_of_work() as uow:
        assert uow.ledger.balances()[Account.PAID] == 0

    clock.set(until)
    paid = post(client, treasurer, batch_id, "paid", payment_reference="TR-1")
    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "paid"
    assert_problem(
        post(client, treasurer, batch_id, "paid", payment_reference="TR-2"),
        409,
        "illegal_transition",
    )
    with ctx.unit_of_work() as uow:
        assert uow.ledger.balances()[Account.PAID] == BATCH_FEN
    assert ledger_problems(ctx) == []
    assert events(ctx, batch_id) == [
        ("settlement.batch_approved", approver.label),
        ("settlement.batch_published", publisher.label),
        ("settlement.batch_paid", treasurer.label),
    ]


def test_the_notice_period_is_a_setting(
    client: TestClient,
    ctx: AppContext,
    clock: Clock,
    batch_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ctx.settings, "settlement_notice_days", 0)
    admin = city_admin(ctx)
    post(client, admin, batch_id, "approve")

    published = post(client, admin, batch_id, "publish")

    assert datetime.fromisoformat(published.json()["notice_until"]) == clock.now
    paid = post(client, admin, batch_id, "paid", payment_reference="TR-1")
    assert paid.status_code == 200, paid.json()


def test_publishing_needs_the_approve_permission_and_the_batch_in_scope(
    client: TestClient, ctx: AppContext, batch_id: str
) -> None:
    auditor = Staff(ctx, staff_account(ctx, Role.AUDITOR))
    datong = Staff(ctx, staff_account(ctx, Role.CITY_ADMIN, region_code="140200"))
    admin = city_admin(ctx)

    assert_problem(post(client, auditor, batch_id, "publish"), 403, "access_denied")
    for batch in (batch_id, str(uuid.uuid4())):
        assert_problem(post(client, datong, batch, "publish"), 404, "not_found")
    assert_problem(post(client, admin, batch_id, "publish"), 409, "illegal_transition")  # draft
    assert client.post(f"/api/v1/settlement/batches/{batch_id}/publish").status_code == 401
    assert events(ctx, batch_id) == []


def test_batches_on_notice_are_public_until_the_notice_ends(
    client: TestClient, ctx: AppContext, clock: Clock, batch_id: str
) -> None:
    admin = city_admin(ctx)
    assert client.get("/api/v1/public/settlement-notices").json()["items"] == []  # a draft
    assert post(client, admin, batch_id, "approve").status_code == 200
    assert client.get("/api/v1/public/settlement-notices").json()["items"] == []  # approved
    published = post(client, admin, batch_id, "publish")
    assert published.status_code == 200, published.json()

    public = client.get("/api/v1/public/settlement-notices")  # no sign-in
    assert public.status_code == 200
    [notice] = public.json()["items"]
    assert (notice["batch_id"], notice["total_fen"]) == (batch_id, BATCH_FEN)
    assert notice["notice_until"] == published.json()["notice_until"]
    assert set(notice) == {
        "batch_id",
        "region_code",
        "institution_credit_code",
        "institution_name",
        "period_start",
        "period_end",
        "line_count",
        "total_fen",
        "published_at",
        "notice_until",
    }  # institutions and amounts only: no trainee
    elsewhere = client.get("/api/v1/public/settlement-notices", params={"region": "140200"})
    assert elsewhere.json()["items"] == []

    clock.set(datetime.fromisoformat(notice["notice_until"]))
    assert client.get("/api/v1/public/settlement-notices").json()["items"] == []
