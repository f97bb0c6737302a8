"""The enterprise portal in a real browser: HR signs in, uploads a roster workbook, reads each
employee's outcome and follows their training."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook
from playwright.sync_api import Page, expect

from builders import (
    CITY,
    credit_code,
    deposit,
    import_course,
    import_institution,
    import_people,
    make_scheme,
    person,
)
from principals import PASSWORD, staff_account
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role

pytest_plugins = ("browser_fixtures",)

SCHEME = "TY-2026-ENT"


def test_hr_uploads_a_roster_and_follows_training(
    desktop: Page, site: AppContext, screenshot: Callable[[Page, str], Path], tmp_path: Path
) -> None:
    employer = credit_code(CITY, "enterprise")
    staff = [person(name=f"职工{i}", groups=["employee"], employer=employer) for i in range(3)]
    elsewhere = person(
        name="外企职工", groups=["employee"], employer=credit_code(CITY, "enterprise")
    )
    import_people(site, [*staff, elsewhere])
    import_course(site, import_institution(site))
    deposit(site)
    make_scheme(
        site,
        code=SCHEME,
        name="太原市企业职工技能提升培训券",
        type="enterprise",
        eligibility={"target_groups": ["employee"], "max_age": 60},
    )
    username = staff_account(
        site, Role.ENTERPRISE_HR, region_code=None, employer_credit_code=employer
    )

    desktop.goto("/")
    desktop.get_by_label("用户名").fill(username)
    desktop.get_by_label("密码").fill(PASSWORD)
    desktop.get_by_role("button", name="登录").click()
    desktop.wait_for_url("**/enterprise")
    expect(desktop.get_by_role("heading", name="企业门户", exact=True)).to_be_visible()
    expect(desktop.get_by_text(SCHEME)).to_be_visible()
    screenshot(desktop, "enterprise-home")

    desktop.get_by_role("link", name="申请培训券").first.click()
    desktop.wait_for_url("**/enterprise/request**")
    screenshot(desktop, "enterprise-request-form")

    roster = tmp_path / "员工名单.xlsx"
    roster.write_bytes(
        workbook(
            [
                (staff[0].resident_id, staff[0].name),
                (staff[1].resident_id, staff[1].name),
                (elsewhere.resident_id, elsewhere.name),
                ("1401051990010112", "号码错误"),
                (staff[0].resident_id, staff[0].name),
            ]
        )
    )
    desktop.get_by_label("企业培训券项目").select_option(SCHEME)
    desktop.get_by_label("名单文件（XLSX 或 CSV）").set_input_files(str(roster))
    desktop.get_by_role("button", name="上传并申请培训券").click()

    expect(desktop.get_by_role("heading", name="名单审核结果")).to_be_visible()
    expect(desktop.get_by_text("名单共 5 行，其中 2 行已发放")).to_be_visible()
    results = desktop.locator("table tbody tr")
    expect(results).to_have_count(5)
    expect(results.nth(0)).to_contain_text("已发放")
    expect(results.nth(2)).to_contain_text("非本企业职工")
    expect(results.nth(3)).to_contain_text("身份证号码有误")
    expect(results.nth(4)).to_contain_text("与第 2 行为同一人")
    assert staff[0].resident_id not in desktop.content()
    screenshot(desktop, "enterprise-roster-outcomes")

    desktop.get_by_role("link", name="员工培训").click()
    desktop.wait_for_url("**/enterprise/training")
    expect(desktop.get_by_role("heading", name="员工培训", exact=True)).to_be_visible()
    expect(desktop.get_by_role("row", name=staff[0].name)).to_contain_text("尚未报名")
    expect(desktop.get_by_text(elsewhere.name)).to_have_count(0)
    screenshot(desktop, "enterprise-training")


def workbook(rows: list[tuple[str, str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["公民身份号码", "姓名"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
