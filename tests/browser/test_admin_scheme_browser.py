"""The administrator console in a real browser: an administrator previews and launches a
scheme, watching the live preview count the people who qualify as the form changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from builders import OTHER_CITY, deposit, import_people, person
from principals import PASSWORD, staff_account
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role
from skillvoucher.domain.people import TargetGroup

pytest_plugins = ("browser_fixtures",)


def test_an_administrator_previews_and_launches_a_scheme(
    desktop: Page, site: AppContext, screenshot: Callable[[Page, str], Path]
) -> None:
    import_people(
        site,
        [
            person(age=25),
            person(age=30),
            person(age=44),
            person(age=50),
            person(groups=[TargetGroup.DISABLED]),
            person(region=OTHER_CITY),
        ],
    )
    deposit(site, 1_000_000)
    username = staff_account(site, Role.CITY_ADMIN)

    desktop.goto("/sign-in")
    desktop.get_by_label("用户名").fill(username)
    desktop.get_by_label("密码").fill(PASSWORD)
    desktop.get_by_role("button", name="登录", exact=True).click()
    desktop.wait_for_url("**/admin")
    expect(desktop.get_by_role("heading", name="管理后台")).to_be_visible()
    screenshot(desktop, "overview")

    desktop.get_by_role("link", name="新建项目").click()
    expect(desktop.get_by_role("heading", name="新建项目")).to_be_visible()
    preview = desktop.locator("#preview")
    expect(preview).to_contain_text("请填写必填项")
    desktop.locator("#f-code").fill("TY-BROWSER-1")
    desktop.locator("#f-name").fill("太原市失业人员培训券")
    desktop.locator('input[name="target_groups"][value="unemployed"]').check()
    desktop.locator("#f-max_age").fill("45")
    desktop.locator("#f-face_value_yuan").fill("1500.50")
    desktop.locator("#f-quota").fill("5")
    desktop.locator("#f-budget_yuan").fill("7502.50")
    desktop.locator("#f-budget_yuan").press("Tab")
    eligible = preview.locator('[data-figure="eligible"]')
    expect(eligible).to_have_text("3")
    expect(preview.locator('[data-figure="budget_needed_fen"]')).to_have_text("¥4,501.50")
    screenshot(desktop, "editor-preview")

    # Narrowing the age range updates the count without leaving the page.
    desktop.locator("#f-max_age").fill("30")
    desktop.locator("#f-max_age").press("Tab")
    expect(eligible).to_have_text("2")
    expect(preview).to_contain_text("专账余额足以在启用时划拨该预算")
    screenshot(desktop, "editor-preview-narrowed")

    desktop.get_by_role("button", name="保存为草稿").click()
    desktop.wait_for_url("**/admin/schemes/TY-BROWSER-1?done=saved")
    expect(desktop.locator("[data-status]")).to_have_text("草稿（未启用）")
    screenshot(desktop, "draft")

    desktop.get_by_role("button", name="启用").click()
    desktop.wait_for_url("**/admin/schemes/TY-BROWSER-1?done=launch")
    expect(desktop.locator("[data-status]")).to_have_text("进行中")
    expect(desktop.get_by_role("alert").or_(desktop.get_by_role("status")).first).to_contain_text(
        "项目已启用"
    )
    screenshot(desktop, "launched")
