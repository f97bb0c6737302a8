"""The worker portal's pages: my vouchers with their QR codes, courses a voucher can pay for,
asking to enrol, my training with a rating, notices; a worker's own vouchers alone."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient

from builders import (
    OTHER_CITY,
    Clock,
    TrainingWorld,
    enrol,
    import_course,
    import_institution,
    issue,
    make_scheme,
    training_world,
)
from pages import ENGLISH, sign_in_staff_page, sign_in_worker_page, text_of
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.settlement import run_settlement
from skillvoucher.application.training import record_attendance, record_completion
from skillvoucher.domain.access import Role
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.web.routes.worker_frame import COURSE_MODE, SKILL_LEVEL, VOUCHER_STATUS


def person_id(ctx: AppContext, resident_id: str) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(resident_id))
        if found is None:
            raise NotFound("no such person")
        return found.id


def signed_in_holder(
    client: TestClient, ctx: AppContext, world: TrainingWorld, index: int = 0
) -> uuid.UUID:
    """Issues a voucher to the world's ``index``-th person and signs them in; the voucher id."""
    holder = world.people[index]
    voucher = issue(ctx, world.scheme.code, holder).voucher_id
    sign_in_worker_page(client, ctx, person_id(ctx, holder.resident_id))
    return voucher


def test_home_lists_my_vouchers_with_value_validity_and_qr_code(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx)
    voucher = signed_in_holder(client, ctx, world)
    page = client.get("/worker")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "我的培训券" in text
    assert world.scheme.name in text
    assert "¥1,500.00" in text  # face value and remaining value
    assert "2026-03-02" in text  # valid from, in Shanghai
    assert "可使用" in text
    assert "<svg" in page.text
    assert 'viewBox="0 0 ' in page.text
    assert f"/worker/vouchers/{voucher}" in page.text
    switched = client.post("/language", data={"lang": "en", "next": "/worker"})
    assert "My vouchers" in text_of(switched.text)
    assert "Remaining value" in text_of(switched.text)
    # The nav counts this week's notices: the voucher was just issued.
    assert re.search(r'class="badge nav-badge"[^>]*>1<', page.text)


def test_voucher_page_shows_the_big_qr_code_and_credential_text(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx)
    voucher = signed_in_holder(client, ctx, world)
    page = client.get(f"/worker/vouchers/{voucher}")
    assert page.status_code == 200
    assert 'class="qr big"' in page.text
    with ctx.unit_of_work() as uow:
        credential = uow.vouchers.get(voucher).credential  # type: ignore[union-attr]
    assert credential
    assert credential in page.text
    english = client.get(f"/worker/vouchers/{voucher}", headers=ENGLISH)
    assert "Show this code at the institution" in text_of(english.text)


def test_a_worker_never_sees_another_workers_voucher(client: TestClient, ctx: AppContext) -> None:
    world = training_world(ctx)
    others = issue(ctx, world.scheme.code, world.people[1]).voucher_id
    signed_in_holder(client, ctx, world, 0)
    assert client.get(f"/worker/vouchers/{others}").status_code == 404
    assert client.get(f"/worker/vouchers/{uuid.uuid4()}").status_code == 404
    assert str(others) not in client.get("/worker").text
    # Asking to enrol with someone else's voucher finds nothing either.
    course = client.get("/worker/courses").text
    course_id = re.search(r'name="course_id" value="([^"]+)"', course)
    assert course_id is not None
    answer = client.post(
        "/worker/enrol",
        data={
            "csrf_token": client.cookies.get("sv_csrf"),
            "voucher_id": str(others),
            "course_id": course_id.group(1),
        },
    )
    assert answer.status_code == 404


def test_only_workers_may_open_the_worker_portal(client: TestClient, ctx: AppContext) -> None:
    assert client.get("/worker", follow_redirects=False).status_code == 303
    sign_in_staff_page(client, ctx, Role.CITY_ADMIN)
    assert client.get("/worker").status_code == 403


def test_courses_show_price_cover_what_i_pay_region_and_quality(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx, course={"price_fen": 200_000, "hours": 4})
    elsewhere = import_institution(ctx, name="大同市技工学校", region=OTHER_CITY)
    import_course(ctx, elsewhere, course_code="D1", name="电工(四级)", skill_level="4")
    # One trainee completed with a certificate at the Taiyuan school and rated it 4.
    trained = issue(ctx, world.scheme.code, world.people[2]).voucher_id
    enrol(ctx, trained, world.institution)
    record_attendance(ctx, trained, AttendanceSource.FACE, ctx.clock(), 240)
    record_completion(ctx, trained, "S0001234", SkillLevel.LEVEL_5)  # 4 of 4 hours
    voucher = signed_in_holder(client, ctx, world)

    page = client.get("/worker/courses", params={"voucher": str(voucher)})
    assert page.status_code == 200
    text = text_of(page.text)
    assert "育婴员(五级)" in text
    assert "电工(四级)" in text
    assert "¥2,000.00" in text  # the price
    assert "¥1,500.00" in text  # what the voucher covers
    assert "¥500.00" in text  # what the holder pays
    assert "太原市" in text
    assert "大同市" in text
    assert "本市" in text
    assert "外市" in text
    assert "100.0%" in text  # completion and certificate rates of the Taiyuan school

    filtered = text_of(client.get("/worker/courses", params={"level": "4"}).text)
    assert "电工(四级)" in filtered
    assert "育婴员(五级)" not in filtered
    online = text_of(client.get("/worker/courses", params={"mode": "online"}).text)
    assert "没有符合条件的课程" in online


def test_a_bad_filter_shows_a_field_error_in_the_workers_language(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx)
    signed_in_holder(client, ctx, world)
    chinese = client.get("/worker/courses", params={"level": "9", "occupation": "x"})
    assert chinese.status_code == 422
    assert chinese.text.count('aria-invalid="true"') == 2
    assert "请从选项中选择" in text_of(chinese.text)
    english = client.get("/worker/courses", params={"mode": "by post"}, headers=ENGLISH)
    assert english.status_code == 422
    assert "Choose one of the options." in text_of(english.text)


def test_asking_to_enrol_gives_a_consent_code_the_institution_can_use(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx)
    voucher = signed_in_holder(client, ctx, world)
    courses = client.get("/worker/courses").text
    course_id = re.search(r'name="course_id" value="([^"]+)"', courses)
    assert course_id is not None
    answer = client.post(
        "/worker/enrol",
        data={
            "csrf_token": client.cookies.get("sv_csrf"),
            "voucher_id": str(voucher),
            "course_id": course_id.group(1),
        },
    )
    assert answer.status_code == 200
    code = re.search(r'class="consent-code"[^>]*>(\d{6})<', answer.text)
    assert code is not None
    assert "有效期至" in text_of(answer.text)
    assert answer.headers["cache-control"] == "no-store"
    # The code is the real thing: the institution enrols the holder with it.
    from skillvoucher.application.enrolment import enrol as enrol_with_code

    receipt = enrol_with_code(ctx, voucher, world.institution, world.course.course_code, code[1])
    assert receipt.voucher_id == voucher


def test_enrol_without_the_csrf_token_is_refused(client: TestClient, ctx: AppContext) -> None:
    world = training_world(ctx)
    voucher = signed_in_holder(client, ctx, world)
    answer = client.post(
        "/worker/enrol", data={"voucher_id": str(voucher), "course_id": str(uuid.uuid4())}
    )
    assert answer.status_code == 403


def test_my_training_shows_attendance_completion_and_certificate_and_takes_a_rating(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, course={"hours": 10})
    voucher = signed_in_holder(client, ctx, world)
    receipt = enrol(ctx, voucher, world.institution)
    for _day in range(2):
        clock.advance(timedelta(days=1))
        record_attendance(ctx, voucher, AttendanceSource.FACE, clock.now, 240)
    record_completion(ctx, voucher, "S0009876", SkillLevel.LEVEL_5)
    # Sessions last hours, not days: sign in again on the day of looking.
    sign_in_worker_page(client, ctx, person_id(ctx, world.people[0].resident_id))

    page = client.get("/worker/training")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "育婴员(五级)" in text
    assert "太原市晋阳职业技能培训学校" in text
    assert "2 次签到，已学 8.0 / 需 8.0 学时" in text  # 10 hours, 80 % required
    assert "S0009876" in text

    rating_url = f"/worker/training/{receipt.enrolment_id}/rating"
    token = client.cookies.get("sv_csrf")
    empty = client.post(rating_url, data={"csrf_token": token, "score": ""})
    assert empty.status_code == 422
    assert "此项为必填项" in text_of(empty.text)
    assert 'aria-invalid="true"' in empty.text
    done = client.post(
        rating_url,
        data={"csrf_token": token, "score": "4", "comment": "老师很好"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = text_of(client.get(done.headers["location"]).text)
    assert "4 / 5" in after
    assert client.post(rating_url, data={"csrf_token": token, "score": "5"}).status_code == 409
    # The rating shows beside the institution when the next worker chooses a course.
    signed_in_holder(client, ctx, world, 1)
    assert "4.0 / 5" in text_of(client.get("/worker/courses").text)
    # Nobody rates another's course.
    token = client.cookies.get("sv_csrf")
    assert client.post(rating_url, data={"csrf_token": token, "score": "1"}).status_code == 404


def test_notices_list_issued_expiring_enrolled_and_settled_newest_first(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, course={"hours": 8})
    short = make_scheme(ctx, code="TY-2026-B", name="太原市短期培训券", validity={"days": 10})
    holder = world.people[0]
    trained = issue(ctx, world.scheme.code, holder).voucher_id
    clock.advance(timedelta(days=1))
    enrol(ctx, trained, world.institution)
    clock.advance(timedelta(days=1))
    record_attendance(ctx, trained, AttendanceSource.FACE, clock.now, 480)
    record_completion(ctx, trained, "S0004321", SkillLevel.LEVEL_5)
    run_settlement(ctx, date(2026, 3, 1), date(2026, 3, 31))
    clock.advance(timedelta(hours=1))
    issue(ctx, short.code, holder)  # one open voucher at a time: the first is settled
    clock.advance(timedelta(days=4))  # the short voucher now expires within a week
    sign_in_worker_page(client, ctx, person_id(ctx, holder.resident_id))

    page = client.get("/worker/notices")
    assert page.status_code == 200
    text = text_of(page.text)
    newest_first = ["即将到期", "收到新培训券", "培训券已结算", "已报名课程"]
    places = [text.index(kind) for kind in newest_first]
    assert places == sorted(places)
    assert text.count("收到新培训券") == 2
    assert "太原市短期培训券" in text
    english = text_of(client.get("/worker/notices", headers=ENGLISH).text)
    assert "Voucher expiring soon" in english
    assert "Voucher settled" in english


def test_every_status_level_and_mode_has_words_on_the_worker_pages() -> None:
    assert set(VOUCHER_STATUS) == {s.value for s in VoucherStatus}
    assert set(SKILL_LEVEL) == {level.value for level in SkillLevel}
    assert set(COURSE_MODE) == {mode.value for mode in CourseMode}


def test_a_full_course_takes_no_more_and_asking_anyway_says_why(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx, course={"capacity": 1})
    first = issue(ctx, world.scheme.code, world.people[1]).voucher_id
    enrol(ctx, first, world.institution)
    voucher = signed_in_holder(client, ctx, world)
    page = client.get("/worker/courses")
    assert "已满员" in text_of(page.text)
    assert 'name="course_id"' not in page.text
    with ctx.unit_of_work() as uow:
        course = uow.catalogue.course_by_code(
            institution_id_by_code(ctx, world.institution), world.course.course_code
        )
        assert course is not None
        course_id = course.id
    answer = client.post(
        "/worker/enrol",
        data={
            "csrf_token": client.cookies.get("sv_csrf"),
            "voucher_id": str(voucher),
            "course_id": str(course_id),
        },
    )
    assert answer.status_code == 409
    assert 'role="alert"' in answer.text
    assert 'class="consent-code"' not in answer.text
