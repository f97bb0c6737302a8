"""The administrator console's oversight pages: fund balances and ledger, deposits with field
errors, settlement review and approval (four eyes, public notice, payment), risk flags with
suspension, and the audit trail search. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import httpx2 as httpx
from fastapi.testclient import TestClient

from builders import (
    OTHER_CITY,
    PEOPLE_HEADER,
    Clock,
    deposit,
    enrol,
    import_course,
    import_institution,
    import_people,
    issue,
    make_scheme,
    people_row,
    person,
    training_world,
    write_csv,
)
from pages import ENGLISH, csrf_of, text_of
from principals import PASSWORD, staff_account
from skillvoucher.application import settlement
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.settlement_batches import list_batches
from skillvoucher.demo.walkthrough import COURSE_CODE, Walkthrough
from skillvoucher.demo.walkthrough_settlement import prepare_settlement_walkthrough
from skillvoucher.domain.access import Role
from skillvoucher.domain.settlement import BatchStatus

PROVINCE = "140000"


def sign_in(client: TestClient, ctx: AppContext, role: Role, region: str | None = "140100") -> str:
    """Signs a new staff member in through the form; returns their username."""
    username = staff_account(ctx, role, region_code=region)
    answer = client.post(
        "/sign-in", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return username


def settlement_batch(ctx: AppContext, trainees: int = 2) -> uuid.UUID:
    """A draft batch of the Taiyuan institution: the enrolment stage of ``trainees`` vouchers."""
    world = training_world(ctx, people=trainees)
    for holder in world.people:
        voucher = issue(ctx, world.scheme.code, holder)
        enrol(ctx, voucher.voucher_id, world.institution)
    run = settlement.run_settlement(ctx, date(2026, 3, 1), date(2026, 3, 31))
    assert len(run.created) == 1
    return run.created[0].batch_id


def post(
    client: TestClient,
    path: str,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A form post from a page: the CSRF token goes along; redirects are not followed."""
    fields = {"csrf_token": csrf_of(client), **(data or {})}
    return client.post(path, data=fields, headers=headers, follow_redirects=False)


# --- Funds -------------------------------------------------------------------------------------


def test_balances_and_ledger_with_filters(client: TestClient, ctx: AppContext) -> None:
    settlement_batch(ctx)
    sign_in(client, ctx, Role.CITY_ADMIN)
    page = client.get("/admin/funds")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "太原市职业技能提升专账" in text
    assert "¥-1,000,000.00" in text  # the treasury, negative by what was deposited
    assert "专账可用资金" in text

    ledger = client.get("/admin/funds/140100/ledger")
    assert ledger.status_code == 200
    assert "拨入" in text_of(ledger.text)
    assert "发券承诺" in text_of(ledger.text)
    deposits = client.get("/admin/funds/140100/ledger", params={"kind": "deposit"})
    assert "发券承诺" not in text_of(deposits.text.split("<tbody>", 1)[1])
    later = client.get("/admin/funds/140100/ledger", params={"from_day": "2026-04-01"})
    assert "没有符合条件的分录" in text_of(later.text)
    wrong = client.get("/admin/funds/140100/ledger", params={"from_day": "April"}, headers=ENGLISH)
    assert wrong.status_code == 422
    assert "Enter a date as YYYY-MM-DD." in text_of(wrong.text)
    # Another city's ledger is as unknown as a missing one.
    assert client.get("/admin/funds/140200/ledger").status_code == 404


def test_deposit_takes_yuan_exactly_and_shows_field_errors_in_both_languages(
    client: TestClient, ctx: AppContext
) -> None:
    sign_in(client, ctx, Role.PROVINCE_ADMIN, PROVINCE)
    form = {"region_code": "140100", "amount_yuan": "12.345", "reference": "拨付"}
    chinese = post(client, "/admin/funds/deposits", form)
    assert chinese.status_code == 422
    assert "请输入以元为单位、最多两位小数的金额" in text_of(chinese.text)
    assert 'value="12.345"' in chinese.text  # what was typed stays in the box

    english = post(client, "/admin/funds/deposits", {**form, "amount_yuan": "0"}, headers=ENGLISH)
    assert english.status_code == 422
    assert "The amount must be more than zero." in text_of(english.text)
    empty = post(client, "/admin/funds/deposits", {**form, "reference": ""}, headers=ENGLISH)
    assert "This field is required." in text_of(empty.text)

    done = post(client, "/admin/funds/deposits", {**form, "amount_yuan": "1,200.50"})
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert "拨入已记录" in text_of(page.text)
    assert "¥1,200.50" in text_of(page.text)


def test_a_city_administrator_may_not_deposit(client: TestClient, ctx: AppContext) -> None:
    sign_in(client, ctx, Role.CITY_ADMIN)
    assert "登记国库拨入" not in text_of(client.get("/admin/funds").text)
    answer = post(
        client,
        "/admin/funds/deposits",
        {"region_code": "140100", "amount_yuan": "1", "reference": "x"},
    )
    assert answer.status_code == 403


def test_a_transfer_needs_two_other_people(client: TestClient, ctx: AppContext) -> None:
    training_world(ctx, people=1)
    sign_in(client, ctx, Role.CITY_ADMIN)
    asked = post(
        client,
        "/admin/funds/transfers",
        {"from_region": "140100", "to_region": "140200", "amount_yuan": "100", "reason": "调剂"},
    )
    assert asked.status_code == 303
    page = client.get("/admin/funds")
    transfer_id = page.text.split("/admin/funds/transfers/", 1)[1].split("/", 1)[0]
    own = post(client, f"/admin/funds/transfers/{transfer_id}/approve")
    assert own.status_code == 403
    assert "审批人须为申请人和首位审批人以外的人" in text_of(own.text)

    sign_in(client, ctx, Role.CITY_ADMIN)
    assert post(client, f"/admin/funds/transfers/{transfer_id}/approve").status_code == 303
    assert "已初审" in text_of(client.get("/admin/funds").text)


# --- Settlement --------------------------------------------------------------------------------


def test_review_approve_publish_and_pay_a_batch(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    batch_id = settlement_batch(ctx)
    sign_in(client, ctx, Role.CITY_ADMIN)
    listing = client.get("/admin/settlement")
    assert listing.status_code == 200
    assert "太原市晋阳职业技能培训学校" in text_of(listing.text)
    assert "待审批" in text_of(listing.text)

    review = client.get(f"/admin/settlement/batches/{batch_id}")
    text = text_of(review.text)
    assert review.status_code == 200
    assert "学员0" in text  # each line's holder
    assert "学员1" in text
    assert "¥900.00" in text  # two enrolment stages of ¥450
    assert "data-confirm=" in review.text

    approved = post(client, f"/admin/settlement/batches/{batch_id}/approve")
    assert approved.status_code == 303
    page = client.get(approved.headers["location"])
    assert "结算批次已审批" in text_of(page.text)
    assert "已审批，待公示" in text_of(page.text)

    assert post(client, f"/admin/settlement/batches/{batch_id}/publish").status_code == 303
    early = post(
        client, f"/admin/settlement/batches/{batch_id}/paid", {"payment_reference": "TR-1"}
    )
    assert early.status_code == 409
    assert "公示期未满，暂不能支付" in text_of(early.text)
    no_reference = post(client, f"/admin/settlement/batches/{batch_id}/paid")
    assert no_reference.status_code == 422
    assert "此项为必填项" in text_of(no_reference.text)

    csv_file = post(client, f"/admin/settlement/batches/{batch_id}/payment-file")
    assert csv_file.status_code == 200
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert str(batch_id) in csv_file.text

    clock.advance(timedelta(days=8))
    sign_in(client, ctx, Role.CITY_ADMIN)  # the first session has ended meanwhile
    paid = post(client, f"/admin/settlement/batches/{batch_id}/paid", {"payment_reference": "TR-1"})
    assert paid.status_code == 303
    assert "结算批次已标记为已支付" in text_of(client.get(paid.headers["location"]).text)


def test_four_eyes_refusal_is_shown_and_another_person_completes_it(
    client: TestClient, ctx: AppContext
) -> None:
    batch_id = settlement_batch(ctx)
    ctx.settings = ctx.settings.model_copy(update={"settlement_second_approval_fen": 1})
    sign_in(client, ctx, Role.CITY_ADMIN)
    first = post(client, f"/admin/settlement/batches/{batch_id}/approve")
    assert first.status_code == 303
    page = text_of(client.get(first.headers["location"]).text)
    assert "已审批一次，待第二人审批" in page
    assert "双人审批" in page

    again = post(client, f"/admin/settlement/batches/{batch_id}/approve", headers=ENGLISH)
    assert again.status_code == 403
    assert "Another person must approve" in text_of(again.text)

    sign_in(client, ctx, Role.CITY_ADMIN)
    second = post(client, f"/admin/settlement/batches/{batch_id}/approve")
    assert second.status_code == 303
    assert "已审批，待公示" in text_of(client.get(second.headers["location"]).text)


def test_another_citys_administrator_cannot_open_the_batch(
    client: TestClient, ctx: AppContext
) -> None:
    batch_id = settlement_batch(ctx)
    sign_in(client, ctx, Role.CITY_ADMIN, OTHER_CITY)
    assert client.get(f"/admin/settlement/batches/{batch_id}").status_code == 404
    assert post(client, f"/admin/settlement/batches/{batch_id}/approve").status_code == 404
    assert "太原市晋阳职业技能培训学校" not in text_of(client.get("/admin/settlement").text)


def test_an_auditor_reads_but_cannot_approve(client: TestClient, ctx: AppContext) -> None:
    batch_id = settlement_batch(ctx)
    sign_in(client, ctx, Role.AUDITOR, PROVINCE)
    review = client.get(f"/admin/settlement/batches/{batch_id}")
    assert review.status_code == 200
    assert "/approve" not in review.text
    assert post(client, f"/admin/settlement/batches/{batch_id}/approve").status_code == 403


def test_build_a_run_from_the_form(client: TestClient, ctx: AppContext) -> None:
    world = training_world(ctx, people=1)
    enrol(ctx, issue(ctx, world.scheme.code, world.people[0]).voucher_id, world.institution)
    sign_in(client, ctx, Role.CITY_ADMIN)
    backwards = post(
        client, "/admin/settlement/runs", {"period_start": "2026-03-31", "period_end": "2026-03-01"}
    )
    assert backwards.status_code == 422
    assert "结算期结束日期早于开始日期" in text_of(backwards.text)
    built = post(
        client, "/admin/settlement/runs", {"period_start": "2026-03-01", "period_end": "2026-03-31"}
    )
    assert built.status_code == 303
    assert "新建 1 个批次" in text_of(client.get(built.headers["location"]).text)


# --- Risk --------------------------------------------------------------------------------------


def test_flags_with_evidence_and_suspension_with_a_reason(
    client: TestClient, ctx: AppContext
) -> None:
    # Three holders of live vouchers behind one mobile number: a flag on each of them.
    holders = [replace(person(name=f"共用{i}"), mobile="13912345678") for i in range(3)]
    import_people(ctx, holders)
    institution = import_institution(ctx)
    import_course(ctx, institution)
    deposit(ctx)
    scheme = make_scheme(ctx)
    for holder in holders:
        enrol(ctx, issue(ctx, scheme.code, holder).voucher_id, institution)
    run = settlement.run_settlement(ctx, date(2026, 3, 1), date(2026, 3, 31))
    sign_in(client, ctx, Role.CITY_ADMIN)

    page = client.get("/admin/risk")
    assert page.status_code == 200
    assert "多名持券人共用一个手机号" in text_of(page.text)
    assert "139****5678" in text_of(page.text)
    review = client.get(f"/admin/settlement/batches/{run.created[0].batch_id}")
    assert "多名持券人共用一个手机号" in text_of(review.text)  # the flag touches the batch

    target = institution_id_by_code(ctx, institution)
    empty = post(client, f"/admin/risk/institutions/{target}/suspend", {"reason": ""})
    assert empty.status_code == 422
    assert "此项为必填项" in text_of(empty.text)
    done = post(client, f"/admin/risk/institutions/{target}/suspend", {"reason": "虚假培训"})
    assert done.status_code == 303
    after = text_of(client.get(done.headers["location"]).text)
    assert "培训机构已暂停" in after
    assert "虚假培训" in after
    refused = post(client, f"/admin/settlement/batches/{run.created[0].batch_id}/approve")
    assert refused.status_code == 409
    assert "培训机构已暂停，结算暂停" in text_of(refused.text)

    back = post(client, f"/admin/risk/institutions/{target}/reinstate")
    assert back.status_code == 303
    assert "没有被暂停的机构" in text_of(client.get(back.headers["location"]).text)


# --- Audit -------------------------------------------------------------------------------------


def test_audit_search_by_actor_kind_entity_and_days(client: TestClient, ctx: AppContext) -> None:
    batch_id = settlement_batch(ctx)
    username = sign_in(client, ctx, Role.CITY_ADMIN)
    post(client, f"/admin/settlement/batches/{batch_id}/approve")

    sign_in(client, ctx, Role.AUDITOR, PROVINCE)
    everything = client.get("/admin/audit")
    assert everything.status_code == 200
    assert "<code>fund.deposited</code>" in everything.text

    mine = client.get("/admin/audit", params={"actor": f"staff:{username}"})
    assert "<code>settlement.batch_approved</code>" in mine.text
    assert "<code>fund.deposited</code>" not in mine.text
    of_batch = client.get(
        "/admin/audit",
        params={"entity_id": str(batch_id), "from_day": "2026-03-02", "to_day": "2026-03-02"},
    )
    assert "<code>settlement.batch_built</code>" in of_batch.text
    assert "<code>voucher.issued</code>" not in of_batch.text
    by_kind = client.get("/admin/audit", params={"action": "voucher.issued"})
    assert by_kind.text.count("<code>voucher.issued</code>") == 2
    none = client.get("/admin/audit", params={"from_day": "2026-04-01"})
    assert "没有符合条件的事件" in text_of(none.text)


def test_audit_search_refuses_an_id_number_and_does_not_echo_it(
    client: TestClient, ctx: AppContext
) -> None:
    sign_in(client, ctx, Role.AUDITOR, PROVINCE)
    number = "14010019900307001X"
    answer = client.get("/admin/audit", params={"entity_id": number}, headers=ENGLISH)
    assert answer.status_code == 422
    assert "never by an ID number" in text_of(answer.text)
    assert number not in answer.text
    assert "/approve" not in client.get("/admin/audit").text


# --- Demo --------------------------------------------------------------------------------------


def test_the_demo_leaves_a_taiyuan_batch_waiting_for_approval(
    ctx: AppContext, tmp_path: Path
) -> None:
    people = [person(name=f"太原{i}") for i in range(3)]
    import_people(ctx, people)
    write_csv(tmp_path / "people.csv", PEOPLE_HEADER, (people_row(p) for p in people))
    institution = import_institution(ctx)
    import_course(ctx, institution, course_code=COURSE_CODE)
    deposit(ctx)
    scheme = make_scheme(ctx)
    walkthrough = Walkthrough(
        worker_id_number=people[0].resident_id,
        worker_name=people[0].name,
        scheme_code=scheme.code,
        voucher_id="",
        institution_code=institution,
        institution_id="",
        course_id="",
        institution_api_key="",
    )
    batch_id = prepare_settlement_walkthrough(ctx, tmp_path, walkthrough)

    [batch] = list_batches(ctx)
    assert batch.batch_id == batch_id
    assert batch.status is BatchStatus.DRAFT
    assert batch.institution_code == institution
    assert batch.line_count == 1
    with ctx.unit_of_work() as uow:
        holder = uow.people.by_digest(ctx.digest(people[0].resident_id))
        assert holder is not None
        assert uow.vouchers.of_person(holder.id) == []  # the worker portal's person is left alone
