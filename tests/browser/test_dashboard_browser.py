"""The statistics dashboard in a real browser: every chart drawn by ECharts, on a desktop and a
phone, the filters redrawing them through htmx, and an XLSX export equal to its chart."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from builders import Clock
from dashboard_world import dashboard_world
from principals import PASSWORD, staff_account
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role

pytest_plugins = ("browser_fixtures",)

CHARTS = 6
ALL_DRAWN = """() => {
  const boxes = [...document.querySelectorAll('[data-chart]')];
  return boxes.length > 0 && boxes.every(
    (box) => window.echarts && window.echarts.getInstanceByDom(box) && box.querySelector('canvas'));
}"""
CHART_DATA = "(name) => JSON.parse(document.getElementById('chart-data-' + name).textContent)"


def sign_in(page: Page, username: str) -> None:
    page.goto("/sign-in")
    page.locator("#f-username").fill(username)
    page.locator("#f-password").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/dashboard")


def drawn_charts(page: Page) -> int:
    page.wait_for_function(ALL_DRAWN)
    count: int = page.evaluate("() => document.querySelectorAll('[data-chart]').length")
    return count


def test_the_dashboard_renders_its_charts(
    desktop: Page,
    phone: Page,
    site: AppContext,
    clock: Clock,
    screenshot: Callable[[Page, str], Path],
) -> None:
    dashboard_world(site, clock)
    username = staff_account(site, Role.NATIONAL_STATISTICIAN, region_code=None)

    sign_in(desktop, username)
    expect(desktop.get_by_role("heading", level=1)).to_have_text("统计看板: 全国")
    assert drawn_charts(desktop) == CHARTS
    provinces = desktop.evaluate(CHART_DATA, "regions")
    assert provinces["categories"] == ["山西省", "河南省"]
    screenshot(desktop, "dashboard-desktop")

    # The filters swap the dashboard's body through htmx; the charts are drawn again.
    desktop.get_by_label("地区").select_option("140000")
    desktop.get_by_role("button", name="查询").click()
    desktop.wait_for_url("**/dashboard?*region=140000*")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("统计看板: 全国")
    desktop.wait_for_function(
        """() => {
          const block = document.getElementById('chart-data-regions');
          return !!block && JSON.parse(block.textContent).categories.includes('太原市');
        }"""
    )
    assert drawn_charts(desktop) == CHARTS
    screenshot(desktop, "dashboard-shanxi")

    # One chart as XLSX: the same figures as the chart on the page.
    chart: dict[str, Any] = desktop.evaluate(CHART_DATA, "regions")
    with desktop.expect_download() as download_info:
        desktop.locator('a[href^="/dashboard/export/regions.xlsx"]').click()
    download = download_info.value
    assert download.suggested_filename == "regions.xlsx"
    sheet = load_workbook(io.BytesIO(download.path().read_bytes())).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert sheet.title == chart["title"]
    assert list(header[1:]) == [series["name"] for series in chart["series"]]
    assert [row[0] for row in rows] == chart["categories"] == ["太原市", "大同市"]
    for i, series in enumerate(chart["series"], start=1):
        assert [row[i] for row in rows] == series["values"]

    amounts: dict[str, Any] = desktop.evaluate(CHART_DATA, "amounts")
    with desktop.expect_download() as download_info:
        desktop.locator('a[href^="/dashboard/export/amounts.xlsx"]').click()
    money = load_workbook(io.BytesIO(download_info.value.path().read_bytes())).worksheets[0]
    paid = [Decimal(str(row[2])) * 100 for row in money.iter_rows(min_row=2, values_only=True)]
    assert paid == amounts["series"][1]["values"]

    desktop.get_by_role("button", name="English").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text(
        "Statistics dashboard: Whole country"
    )
    assert drawn_charts(desktop) == CHARTS
    assert desktop.evaluate(CHART_DATA, "regions")["categories"] == ["Shanxi", "Henan"]
    screenshot(desktop, "dashboard-english")

    sign_in(phone, username)
    assert drawn_charts(phone) == CHARTS
    # On a phone nothing is wider than the screen: the page does not scroll sideways.
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone, "dashboard-phone")
