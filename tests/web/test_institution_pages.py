"""The institution portal's pages: verify a voucher code in two steps, enrol with the holder's
consent code, rosters, attendance (one event and a file), completions and settlement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient

from builders import Clock, enrol, import_course, import_institution, issue, training_world
from pages import ENGLISH, sign_in_staff_page, text_of
from skillvoucher.application import enrolment
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.settlement import run_settlement
from skillvoucher.domain.access import Role


@dataclass(frozen=True)
class Counter:
    csrf: str
    institution: str
    course_id: uuid.UUID
    voucher_id: uuid.UUID
    credential: str


def _counter(client: TestClient, ctx: AppContext) -> Counter:
    """A signed-in member of the world's institution, and an issued voucher to show them."""
    world = training_world(ctx, people=3)
    institution_id = institution_id_by_code(ctx, world.institution)
    csrf = sign_in_staff_page(
        client, ctx, Role.INSTITUTION_STAFF, region_code=None, institution_id=institution_id
    )
    issued = issue(ctx, world.scheme.code, world.people[0])
    page = client.get("/institution/enrol")
    course_id = uuid.UUID(page.text.split('<option value="')[2].split('"')[0])
    return Counter(csrf, world.institution, course_id, issued.voucher_id, issued.credential)


def _enrolled(client: TestClient, ctx: AppContext, counter: Counter) -> uuid.UUID:
    code = enrolment.grant_consent(ctx, counter.voucher_id).code
    answer = client.post(
        "/institution/enrol",
        data={
            "csrf_token": counter.csrf,
            "voucher_id": str(counter.voucher_id),
            "consent_code": code,
            "course_id": str(counter.course_id),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return uuid.UUID(answer.headers["location"].split("/")[3].split("?")[0])


def test_a_genuine_code_passes_both_steps(client: TestClient, ctx: AppContext) -> None:
    counter = _counter(client, ctx)
    page = client.get("/institution")
    assert page.status_code == 200
    assert "核验培训券" in text_of(page.text)
    assert "/static/institution.js" in page.text

    # htmx gets the result alone; a plain form post gets the whole page with it.
    partial = client.post(
        "/institution/verify",
        data={"csrf_token": counter.csrf, "code": counter.credential},
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200
    assert "<html" not in partial.text
    text = text_of(partial.text)
    assert "第一步" in text
    assert "第二步" in text
    assert 'data-step="offline-passed"' in partial.text
    assert "已发放，未使用" in text
    assert "¥1,500.00" in text
    assert "学*" in text  # the holder 学员0, masked
    assert f"/institution/enrol?voucher={counter.voucher_id}" in partial.text

    whole = client.post(
        "/institution/verify",
        data={"csrf_token": counter.csrf, "code": counter.credential},
        headers=ENGLISH,
    )
    assert "<html" in whole.text
    assert "Step 2: online status" in text_of(whole.text)


def test_a_forged_or_garbled_code_is_named_as_such(client: TestClient, ctx: AppContext) -> None:
    counter = _counter(client, ctx)
    header, payload, signature = counter.credential.split(".")
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = client.post(
        "/institution/verify",
        data={"csrf_token": counter.csrf, "code": f"{header}.{payload}.{forged_signature}"},
    )
    assert forged.status_code == 200
    assert 'data-step="offline-failed"' in forged.text
    assert "签名验证不通过" in text_of(forged.text)
    assert "第二步" not in text_of(forged.text)

    garbled = client.post(
        "/institution/verify",
        data={"csrf_token": counter.csrf, "code": "hello, this is no voucher"},
        headers=ENGLISH,
    )
    assert garbled.status_code == 200
    assert "This is not a voucher code: the text is damaged" in text_of(garbled.text)

    empty = client.post("/institution/verify", data={"csrf_token": counter.csrf, "code": " "})
    assert empty.status_code == 422
    assert "此项为必填项" in text_of(empty.text)


def test_a_wrong_consent_code_is_a_field_error_in_the_users_language(
    client: TestClient, ctx: AppContext
) -> None:
    counter = _counter(client, ctx)
    enrolment.grant_consent(ctx, counter.voucher_id)
    form = {
        "csrf_token": counter.csrf,
        "voucher_id": str(counter.voucher_id),
        "consent_code": "000000",
        "course_id": str(counter.course_id),
    }
    chinese = client.post("/institution/enrol", data=form)
    assert chinese.status_code == 422
    assert 'id="e-consent_code"' in chinese.text
    assert "授权码无效" in text_of(chinese.text)

    english = client.post("/institution/enrol", data=form, headers=ENGLISH)
    assert english.status_code == 422
    assert 'id="e-consent_code"' in english.text
    assert "The consent code is not valid" in text_of(english.text)

    missing = client.post(
        "/institution/enrol", data={**form, "consent_code": "", "course_id": ""}, headers=ENGLISH
    )
    assert missing.status_code == 422
    assert missing.text.count('aria-invalid="true"') == 2


def test_enrolling_and_recording_attendance_shows_in_the_roster(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    counter = _counter(client, ctx)
    enrolment_id = _enrolled(client, ctx, counter)
    page = client.get(f"/institution/enrolments/{enrolment_id}?done=enrolled")
    checked = client.post(
        "/institution/verify",
        data={"csrf_token": counter.csrf, "code": counter.credential},
        headers=ENGLISH,
    )
    assert "The holder is enrolled on one of your courses." in text_of(checked.text)
    assert f"/institution/enrolments/{enrolment_id}" in checked.text
    assert "已为持券人报名" in text_of(page.text)

    # Enrolling the same voucher again: the voucher field says why.
    again = client.post(
        "/institution/enrol",
        data={
            "csrf_token": counter.csrf,
            "voucher_id": str(counter.voucher_id),
            "consent_code": "123456",
            "course_id": str(counter.course_id),
        },
    )
    assert again.status_code == 422
    assert 'id="e-voucher_id"' in again.text
    assert "培训券已报名" in text_of(again.text)

    clock.advance(timedelta(hours=4))
    recorded = client.post(
        f"/institution/enrolments/{enrolment_id}/attendance",
        data={
            "csrf_token": counter.csrf,
            "occurred_at": "2026-03-02T12:00",
            "minutes": "120",
            "source": "face",
        },
        follow_redirects=False,
    )
    assert recorded.status_code == 303, recorded.text
    assert 'data-attended-minutes="120"' in client.get(recorded.headers["location"]).text

    future = client.post(
        f"/institution/enrolments/{enrolment_id}/attendance",
        data={
            "csrf_token": counter.csrf,
            "occurred_at": "2026-03-09T12:00",
            "minutes": "60",
            "source": "card",
        },
    )
    assert future.status_code == 422
    assert 'id="e-occurred_at"' in future.text

    roster = client.get(f"/institution/rosters/{counter.course_id}")
    assert roster.status_code == 200
    text = text_of(roster.text)
    assert "学员0" in text
    assert "2.0 学时 / 80 学时 (2%)" in text
    assert "培训中" in text
    assert "**" in text  # the ID number, masked
    assert "育婴员" in text_of(client.get("/institution/rosters").text)


def test_an_attendance_file_with_one_bad_row_records_the_others(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    counter = _counter(client, ctx)
    _enrolled(client, ctx, counter)
    clock.advance(timedelta(hours=6))
    csv = (
        "voucher_id,source,minutes,occurred_at\n"
        f"{counter.voucher_id},face,90,2026-03-02T11:00+08:00\n"
        f"{counter.voucher_id},card,60,yesterday\n"
        f"{uuid.uuid4()},face,60,2026-03-02T12:00+08:00\n"
    )
    answer = client.post(
        "/institution/attendance/upload",
        data={"csrf_token": counter.csrf},
        files={"file": ("attendance.csv", csv.encode(), "text/csv")},
    )
    assert answer.status_code == 200, answer.text
    assert 'data-recorded="1"' in answer.text
    assert 'data-refused="2"' in answer.text
    text = text_of(answer.text)
    assert "已接受" in text
    assert "输入有误" in text
    assert "未找到" in text
    assert "is not a time like" in text  # the cell that is wrong

    wrong_kind = client.post(
        "/institution/attendance/upload",
        data={"csrf_token": counter.csrf},
        files={"file": ("attendance.txt", b"x", "text/plain")},
        headers=ENGLISH,
    )
    assert wrong_kind.status_code == 422
    assert "Choose a CSV or XLSX file." in text_of(wrong_kind.text)


def test_another_institutions_enrolment_is_not_found(client: TestClient, ctx: AppContext) -> None:
    world = training_world(ctx, people=2)
    voucher = issue(ctx, world.scheme.code, world.people[1])
    theirs = enrol(ctx, voucher.voucher_id, world.institution).enrolment_id
    mine = import_institution(ctx, name="太原市另一所培训学校")
    import_course(ctx, mine)
    sign_in_staff_page(
        client,
        ctx,
        Role.INSTITUTION_STAFF,
        region_code=None,
        institution_id=institution_id_by_code(ctx, mine),
    )
    assert client.get(f"/institution/enrolments/{theirs}").status_code == 404
    assert client.get(f"/institution/enrolments/{uuid.uuid4()}").status_code == 404
    assert "学员1" not in text_of(client.get("/institution/attendance").text)


def test_a_completion_with_its_certificate_and_the_settlement_statement(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    counter = _counter(client, ctx)
    enrolment_id = _enrolled(client, ctx, counter)
    assert "结业和证书" not in text_of(client.get(f"/institution/enrolments/{enrolment_id}").text)
    clock.advance(timedelta(hours=4))
    client.post(
        f"/institution/enrolments/{enrolment_id}/attendance",
        data={
            "csrf_token": counter.csrf,
            "occurred_at": "2026-03-02T12:00",
            "minutes": "60",
            "source": "qr",
        },
    )
    half = client.post(
        f"/institution/enrolments/{enrolment_id}/completion",
        data={"csrf_token": counter.csrf, "certificate_no": "S0001234"},
        headers=ENGLISH,
    )
    assert half.status_code == 422
    assert "Give the certificate number and its level together." in text_of(half.text)

    done = client.post(
        f"/institution/enrolments/{enrolment_id}/completion",
        data={"csrf_token": counter.csrf, "certificate_no": "S0001234", "certificate_level": "5"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "结业已记录" in text_of(client.get(done.headers["location"]).text)

    # Attendance never reached the minimum: the certificate stage waits for it.
    run_settlement(ctx, clock.today, clock.today)
    statement = client.get("/institution/settlement")
    assert statement.status_code == 200
    text = text_of(statement.text)
    assert "等待主管部门审核" in text  # the enrolment stage's batch, a draft
    assert "¥450.00" in text  # 30 % of ¥1,500
    assert "出勤率低于项目最低要求" in text
    assert "(1% / 80%)" in text
    english = text_of(client.get("/institution/settlement", headers=ENGLISH).text)
    assert "Waiting for the administration's approval" in english
    assert "Completed" in text_of(client.get("/institution/completions", headers=ENGLISH).text)


def test_other_roles_may_not_open_the_portal(client: TestClient, ctx: AppContext) -> None:
    sign_in_staff_page(client, ctx, Role.CITY_ADMIN)
    assert client.get("/institution").status_code == 403
    client.cookies.clear()
    assert client.get("/institution/rosters", follow_redirects=False).status_code == 303
