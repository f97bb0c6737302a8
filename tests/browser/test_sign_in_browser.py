"""The sign-in page in a real browser: Chinese by default, the language switch, a staff member
landing on their portal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from builders import import_institution
from principals import PASSWORD, staff_account
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role

pytest_plugins = ("browser_fixtures",)


def test_sign_in_page_switches_language_and_signs_staff_in(
    desktop: Page, site: AppContext, screenshot: Callable[[Page, str], Path]
) -> None:
    institution = institution_id_by_code(site, import_institution(site))
    username = staff_account(
        site, Role.INSTITUTION_STAFF, region_code=None, institution_id=institution
    )
    desktop.goto("/")
    expect(desktop.get_by_role("heading", name="登录", exact=True)).to_be_visible()
    expect(desktop.get_by_role("link", name="电子社保卡登录")).to_be_visible()
    screenshot(desktop, "sign-in-zh")

    desktop.get_by_role("button", name="English").click()
    expect(desktop.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    desktop.get_by_role("button", name="Sign in").click()
    expect(desktop.get_by_text("This field is required.").first).to_be_visible()
    screenshot(desktop, "sign-in-errors-en")

    desktop.get_by_label("Username").fill(username)
    desktop.get_by_label("Password").fill(PASSWORD)
    desktop.get_by_role("button", name="Sign in").click()
    desktop.wait_for_url("**/institution")
