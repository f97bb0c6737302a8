"""The enterprise portal: HR's home, voucher requests from a roster file, employees' training;
on both databases, and never another enterprise's data."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from builders import (
    CITY,
    PEOPLE_HEADER,
    Clock,
    credit_code,
    deposit,
    enrol,
    import_course,
    import_institution,
    import_people,
    issue,
    make_scheme,
    people_row,
    person,
    resident_id,
    write_csv,
)
from pages import ENGLISH, sign_in_staff_page, sign_in_worker_page, text_of
from skillvoucher.application import training
from skillvoucher.application.context import AppContext
from skillvoucher.demo.synthetic import SyntheticPerson
from skillvoucher.demo.walkthrough_enterprise import prepare_enterprise_walkthrough
from skillvoucher.domain.access import Role
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.identity import mask_resident_id

SCHEME = "TY-2026-ENT"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Enterprise:
    employer: str
    other_employer: str
    employees: list[SyntheticPerson]
    too_old: SyntheticPerson
    outsider: SyntheticPerson
    old_outsider: SyntheticPerson
    institution: str


def enterprise_world(ctx: AppContext) -> Enterprise:
    """One funded enterprise scheme in Taiyuan; two employers with their staff; a course."""
    employer = credit_code(CITY, "enterprise")
    other = credit_code(CITY, "enterprise")
    employees = [person(name=f"职工{i}", groups=["employee"], employer=employer) for i in range(3)]
    too_old = person(name="老师傅", age=62, groups=["employee"], employer=employer)
    outsider = person(name="外企职工", groups=["employee"], employer=other)
    old_outsider = person(name="外企老职工", age=63, groups=["employee"], employer=other)
    import_people(ctx, [*employees, too_old, outsider, old_outsider])
    institution = import_institution(ctx)
    import_course(ctx, institution, course_code="C1", name="电工(四级)", skill_level="4", hours=10)
    deposit(ctx)
    make_scheme(
        ctx,
        code=SCHEME,
        name="太原市企业职工技能提升培训券",
        type="enterprise",
        issuance="application",
        eligibility={"target_groups": ["employee"], "max_age": 60},
    )
    return Enterprise(employer, other, employees, too_old, outsider, old_outsider, institution)


def roster_xlsx(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(
    client: TestClient,
    csrf: str,
    content: bytes,
    *,
    filename: str = "roster.xlsx",
    media_type: str = XLSX,
    scheme: str = SCHEME,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    answer = client.post(
        "/enterprise/request",
        data={"csrf_token": csrf, "scheme_code": scheme},
        files={"roster": (filename, content, media_type)},
        headers=headers,
    )
    return answer.status_code, answer.text


def hr_of(client: TestClient, ctx: AppContext, employer: str) -> str:
    return sign_in_staff_page(client, ctx, Role.ENTERPRISE_HR, employer_credit_code=employer)


def test_home_shows_open_schemes_and_the_employees_vouchers(
    client: TestClient, ctx: AppContext
) -> None:
    world = enterprise_world(ctx)
    issue(ctx, SCHEME, world.employees[0], world.employer)
    issue(ctx, SCHEME, world.outsider, world.other_employer)  # not this HR's
    hr_of(client, ctx, world.employer)

    answer = client.get("/enterprise")
    assert answer.status_code == 200
    page = text_of(answer.text)
    assert "<h1>企业门户</h1>" in answer.text
    assert SCHEME in page
    assert "太原市" in page
    assert "¥1,500.00" in page
    assert "98 / 100" in page  # quota left after the two vouchers of the region
    assert world.employer in page
    # One voucher of this enterprise's employees, not two.
    assert "未使用 1 ¥1,500.00" in page
    assert 'href="/enterprise/request?scheme=TY-2026-ENT"' in answer.text

    english = text_of(client.get("/enterprise", headers=ENGLISH).text)
    assert "Enterprise schemes open to your employees" in english
    assert "Not yet used 1 ¥1,500.00" in english


def test_roster_upload_reports_each_line_and_is_safe_to_repeat(
    client: TestClient, ctx: AppContext
) -> None:
    world = enterprise_world(ctx)
    csrf = hr_of(client, ctx, world.employer)
    unknown = resident_id(CITY, date(1990, 1, 1))  # never imported
    first, second = world.employees[0], world.employees[1]
    rows = [
        (first.resident_id, first.name),
        (world.outsider.resident_id, world.outsider.name),
        ("14010519900101123", "号码不全"),
        (first.resident_id[:6] + " " + first.resident_id[6:], first.name),  # the same person
        (world.too_old.resident_id, world.too_old.name),
        (unknown, "未登记"),
        (" " + second.resident_id + " ", second.name),
        (world.old_outsider.resident_id, world.old_outsider.name),
    ]
    content = roster_xlsx(["公民身份号码", "姓名"], rows)

    status, html = upload(client, csrf, content)
    assert status == 200, html
    page = text_of(html)
    assert "名单共 8 行，其中 2 行已发放 TY-2026-ENT 培训券。" in page
    assert "已发放: 2" in page
    assert "名单中重复: 1" in page
    # Someone else's employee: that, and nothing about their age, card or other vouchers.
    assert page.count("非本企业职工") == 3  # the count above and two lines
    assert "身份证号码有误" in page
    assert "请核对号码" in page
    assert "不符合条件" in page
    assert page.count("超过 60 周岁") == 1
    assert "未在人员信息库中登记" in page
    assert "与第 2 行为同一人，只申请一次。" in page
    # Masked, never whole.
    assert mask_resident_id(first.resident_id) in page
    for number in (first.resident_id, world.outsider.resident_id, world.too_old.resident_id):
        assert number not in html

    again, html = upload(client, csrf, content, headers=ENGLISH)
    assert again == 200
    page = text_of(html)
    assert "0 of 8 lines received a voucher of TY-2026-ENT." in page
    assert "Already holds a voucher of this scheme: 2" in page
    assert "older than 60" in page
    assert "Not an employee of this enterprise" in page
    assert "The same person as line 2: requested once." in page


def test_roster_in_csv_with_english_headers_and_a_title_row(
    client: TestClient, ctx: AppContext
) -> None:
    world = enterprise_world(ctx)
    csrf = hr_of(client, ctx, world.employer)
    text = "Staff list 2026\nName,Resident ID Number\n"
    text += "".join(f"{p.name},{p.resident_id}\n" for p in world.employees)
    status, html = upload(
        client, csrf, text.encode("gb18030"), filename="staff.csv", media_type="text/csv"
    )
    assert status == 200, html
    assert "名单共 3 行，其中 3 行已发放" in text_of(html)


def test_bad_files_are_refused_with_a_reason(
    client: TestClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = enterprise_world(ctx)
    csrf = hr_of(client, ctx, world.employer)

    status, html = upload(
        client, csrf, b"just some text", filename="roster.txt", media_type="text/plain"
    )
    assert status == 422
    assert "这不是 XLSX 文件" in text_of(html)
    assert 'aria-invalid="true"' in html

    status, html = upload(client, csrf, b"PK\x03\x04 broken zip", headers=ENGLISH)
    assert status == 422
    assert "The file could not be read." in text_of(html)

    no_id = roster_xlsx(["姓名", "部门"], [("王芳", "车间")])
    status, html = upload(client, csrf, no_id)
    assert status == 422
    assert "名单中没有身份证号码列" in text_of(html)

    monkeypatch.setattr("skillvoucher.web.routes.enterprise.MAX_ROSTER", 2)
    three = roster_xlsx(["身份证号", "姓名"], [(p.resident_id, p.name) for p in world.employees])
    status, html = upload(client, csrf, three)
    assert status == 422
    assert "名单超过 2 行" in text_of(html)

    answer = client.post(
        "/enterprise/request", data={"csrf_token": csrf, "scheme_code": ""}, headers=ENGLISH
    )
    assert answer.status_code == 422
    assert answer.text.count('aria-invalid="true"') == 2
    assert "Choose the roster file." in text_of(answer.text)

    # Nothing was issued by any of these.
    assert "None of your employees holds an enterprise voucher yet." in text_of(
        client.get("/enterprise", headers=ENGLISH).text
    )


def test_a_roster_over_20_mib_is_refused_before_it_is_read(
    client: TestClient, ctx: AppContext
) -> None:
    world = enterprise_world(ctx)
    csrf = hr_of(client, ctx, world.employer)
    status, html = upload(client, csrf, b"0" * (21 << 20))
    assert status == 413
    assert "<html" in html


def test_another_schemes_type_or_an_unknown_scheme_is_refused_whole(
    client: TestClient, ctx: AppContext
) -> None:
    world = enterprise_world(ctx)
    make_scheme(ctx, code="TY-2026-IND")  # an individual scheme
    csrf = hr_of(client, ctx, world.employer)
    content = roster_xlsx(["公民身份号码"], [(world.employees[0].resident_id,)])
    status, html = upload(client, csrf, content, scheme="TY-2026-IND", headers=ENGLISH)
    assert status == 422
    assert "not an enterprise scheme" in text_of(html)
    status, html = upload(client, csrf, content, scheme="NO-SUCH-1")
    assert status == 422
    assert "未找到" in text_of(html)


def test_training_page_follows_enrolment_attendance_and_certificate(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    world = enterprise_world(ctx)
    enrolled = issue(ctx, SCHEME, world.employees[0], world.employer)
    issue(ctx, SCHEME, world.employees[1], world.employer)
    theirs = issue(ctx, SCHEME, world.outsider, world.other_employer)
    enrol(ctx, enrolled.voucher_id, world.institution)
    enrol(ctx, theirs.voucher_id, world.institution)
    clock.advance(timedelta(days=1))
    training.record_attendance(ctx, enrolled.voucher_id, AttendanceSource.FACE, clock.now, 300)
    training.record_completion(ctx, enrolled.voucher_id, "S2026000123", SkillLevel("4"))
    hr_of(client, ctx, world.employer)

    answer = client.get("/enterprise/training")
    assert answer.status_code == 200
    page = text_of(answer.text)
    assert world.employees[0].name in page
    assert world.employees[1].name in page
    assert world.outsider.name not in page
    assert "电工(四级)" in page
    assert "50.0%" in page
    assert "S2026000123" in page
    assert "已学 5.0 / 10 学时" in page
    assert "尚未报名" in page

    only_issued = text_of(client.get("/enterprise/training?status=issued", headers=ENGLISH).text)
    assert world.employees[1].name in only_issued
    assert world.employees[0].name not in only_issued
    assert "Not enrolled yet" in only_issued


def test_another_enterprise_sees_none_of_it_and_other_roles_are_kept_out(
    client: TestClient, ctx: AppContext
) -> None:
    world = enterprise_world(ctx)
    issue(ctx, SCHEME, world.employees[0], world.employer)
    hr_of(client, ctx, world.other_employer)
    home = text_of(client.get("/enterprise").text)
    assert "本企业职工尚未持有企业培训券" in home
    training_page = text_of(client.get("/enterprise/training").text)
    assert world.employees[0].name not in training_page

    # Naming the other enterprise's employee in a roster issues nothing.
    csrf = client.cookies.get("sv_csrf") or ""
    content = roster_xlsx(["公民身份号码"], [(world.employees[1].resident_id,)])
    status, html = upload(client, csrf, content)
    assert status == 200
    assert "非本企业职工" in text_of(html)

    client.cookies.clear()
    sign_in_worker_page(client, ctx, _person_id(ctx, world.employees[0]))
    assert client.get("/enterprise").status_code == 403
    client.cookies.clear()
    sign_in_staff_page(client, ctx, Role.CITY_ADMIN)
    assert client.get("/enterprise/training").status_code == 403


def test_pages_need_sign_in_and_the_template_downloads(client: TestClient, ctx: AppContext) -> None:
    answer = client.get("/enterprise/request", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=/enterprise/request")

    world = enterprise_world(ctx)
    hr_of(client, ctx, world.employer)
    form = client.get("/enterprise/request?scheme=" + SCHEME)
    assert form.status_code == 200
    assert f'<option value="{SCHEME}" selected>' in form.text
    assert 'enctype="multipart/form-data"' in form.text

    template = client.get("/enterprise/roster-template.xlsx")
    assert template.status_code == 200
    assert template.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(template.content), read_only=True).worksheets[0]
    header = next(iter(sheet.values))
    assert header[0] is not None
    assert str(header[0]).startswith("公民身份号码")
    assert header[1] is not None
    assert str(header[1]).startswith("姓名")


def _person_id(ctx: AppContext, holder: SyntheticPerson) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(holder.resident_id))
        assert found is not None
        return found.id


def test_demo_walkthrough_scheme_and_roster_work_in_the_portal(
    client: TestClient, ctx: AppContext, tmp_path: Path
) -> None:
    employer = credit_code(CITY, "enterprise")
    staff = [person(name=f"演示职工{i}", groups=["employee"], employer=employer) for i in range(3)]
    neighbour = person(name="邻居")
    import_people(ctx, [*staff, neighbour])
    folder = tmp_path / "demo"
    folder.mkdir()
    write_csv(folder / "people.csv", PEOPLE_HEADER, (people_row(p) for p in [*staff, neighbour]))

    prepared = prepare_enterprise_walkthrough(ctx, folder, employer)
    assert prepared.roster_path == folder / "enterprise-roster.xlsx"
    assert prepared.roster_lines == 4  # the three employees and one who works elsewhere

    csrf = hr_of(client, ctx, employer)
    assert prepared.scheme_code in text_of(client.get("/enterprise").text)
    status, html = upload(
        client, csrf, prepared.roster_path.read_bytes(), scheme=prepared.scheme_code
    )
    assert status == 200, html
    page = text_of(html)
    assert "名单共 4 行，其中 3 行已发放" in page
    assert "非本企业职工: 1" in page
