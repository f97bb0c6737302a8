"""An administrator approves a settlement batch in a real browser: signs in through the form,
opens the batch for review, approves it (accepting the confirmation dialog) and sees its new
status. Screenshots of each page (desktop)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from playwright.sync_api import Dialog, Page, expect

from builders import enrol, issue, training_world
from principals import PASSWORD, staff_account
from skillvoucher.application import settlement
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role

pytest_plugins = ("browser_fixtures",)


def test_an_administrator_approves_a_settlement(
    desktop: Page, site: AppContext, screenshot: Callable[[Page, str], Path]
) -> None:
    world = training_world(site, people=2)
    for holder in world.people:
        enrol(site, issue(site, world.scheme.code, holder).voucher_id, world.institution)
    run = settlement.run_settlement(site, date(2026, 3, 1), date(2026, 3, 31))
    assert len(run.created) == 1
    username = staff_account(site, Role.CITY_ADMIN)

    desktop.goto("/admin/settlement")
    desktop.get_by_label("用户名").fill(username)
    desktop.get_by_label("密码").fill(PASSWORD)
    desktop.get_by_role("button", name="登录", exact=True).click()
    desktop.wait_for_url("**/admin/settlement")
    expect(desktop.get_by_role("heading", name="结算批次", exact=True)).to_be_visible()
    expect(desktop.get_by_text("待审批").first).to_be_visible()
    screenshot(desktop, "settlement-batches")

    desktop.get_by_role("link", name="打开审核").first.click()
    expect(desktop.get_by_role("heading", level=1)).to_contain_text("太原市晋阳职业技能培训学校")
    expect(desktop.get_by_text("学员0")).to_be_visible()
    screenshot(desktop, "batch-review")

    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    desktop.on("dialog", accept)
    desktop.get_by_role("button", name="审批通过").click()
    expect(desktop.locator("#batch-status")).to_have_text("已审批，待公示")
    expect(desktop.get_by_role("status")).to_contain_text("结算批次已审批")
    assert len(questions) == 1  # the confirmation named the amount
    assert "¥900.00" in questions[0]
    expect(desktop.get_by_role("button", name="公示")).to_be_visible()
    screenshot(desktop, "batch-approved")
