"""The institution portal in a real browser: a member of staff signs in, checks a holder's
voucher code, enrols them with their consent code, records attendance and sees it in the
class roster; and the camera scanner reads a voucher's QR code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import segno
from playwright.sync_api import Page, Playwright, expect

from builders import Clock, issue, training_world
from principals import PASSWORD, staff_account
from skillvoucher.application import enrolment
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role

pytest_plugins = ("browser_fixtures",)


def test_an_institution_verifies_and_records_attendance(
    desktop: Page, site: AppContext, clock: Clock, screenshot: Callable[[Page, str], Path]
) -> None:
    world = training_world(site, people=2)
    username = staff_account(
        site,
        Role.INSTITUTION_STAFF,
        region_code=None,
        institution_id=institution_id_by_code(site, world.institution),
    )
    voucher = issue(site, world.scheme.code, world.people[0])
    consent = enrolment.grant_consent(site, voucher.voucher_id).code

    desktop.goto("/sign-in")
    desktop.locator("#f-username").fill(username)
    desktop.locator("#f-password").fill(PASSWORD)
    desktop.get_by_role("button", name="登录").click()
    desktop.wait_for_url("**/institution")
    expect(desktop.get_by_role("heading", name="核验培训券", level=1)).to_be_visible()
    screenshot(desktop, "verify")

    desktop.get_by_label("培训券码").fill(voucher.credential)
    desktop.get_by_role("button", name="核验", exact=True).click()
    expect(desktop.get_by_role("heading", name="第一步：离线核验（签名和有效期）")).to_be_visible()
    expect(desktop.get_by_role("heading", name="第二步：在线状态")).to_be_visible()
    expect(desktop.get_by_text("已发放，未使用")).to_be_visible()
    screenshot(desktop, "verified")

    desktop.get_by_role("link", name="为该持券人报名").click()
    expect(desktop.get_by_label("培训券编号")).to_have_value(str(voucher.voucher_id))
    desktop.get_by_label("持券人授权码").fill(consent)
    desktop.get_by_label("课程").select_option(index=1)
    screenshot(desktop, "enrol")
    desktop.get_by_role("button", name="报名", exact=True).click()
    expect(desktop.get_by_text("已为持券人报名。")).to_be_visible()

    clock.advance(timedelta(hours=3))
    desktop.get_by_label("日期和时间（北京时间）").fill("2026-03-02T11:00")
    desktop.get_by_label("分钟数").fill("90")
    desktop.get_by_label("签到方式").select_option("face")
    desktop.get_by_role("button", name="录入考勤").click()
    expect(desktop.get_by_text("考勤已记录。")).to_be_visible()
    screenshot(desktop, "attendance-recorded")

    desktop.get_by_role("navigation").get_by_role("link", name="班级花名册").click()
    screenshot(desktop, "rosters")
    desktop.get_by_role("link", name="C1 · 育婴员(五级)").click()
    row = desktop.get_by_role("row", name="学员0")
    expect(row).to_contain_text("1.5 学时 / 80 学时")
    expect(row).to_contain_text("培训中")
    screenshot(desktop, "roster")


def _camera_film(text: str, path: Path, width: int = 640, height: int = 480) -> Path:
    """A Y4M video of ``text``'s QR code, for Chromium's fake camera: black modules on white,
    with the quiet zone, the same picture in every frame."""
    matrix = [list(row) for row in segno.make(text, error="m", micro=False).matrix]
    quiet, size = 4, len(matrix)
    scale = min(width, height) // (size + 2 * quiet)
    left, top = (width - size * scale) // 2, (height - size * scale) // 2
    luma = bytearray(b"\xff" * (width * height))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + y * scale + dy) * width + left + x * scale
                    luma[start : start + scale] = b"\x00" * scale
    chroma = b"\x80" * (width * height // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 10)
    return path


def test_the_camera_reads_a_vouchers_qr_code(
    playwright_driver: Playwright,
    live_url: str,
    site: AppContext,
    tmp_path: Path,
    screenshot: Callable[[Page, str], Path],
) -> None:
    """institution.js reads the QR code from the camera (Chromium's fake one, showing the
    voucher's code) and submits it: the same two steps as a pasted code."""
    # Imported here, once pytest has loaded it as this module's plugin.
    from browser_fixtures import CHROMIUM_FLAGS, chromium_executable

    executable = chromium_executable()
    if executable is None:
        pytest.skip("no Chromium on this machine")
    world = training_world(site, people=1)
    username = staff_account(
        site,
        Role.INSTITUTION_STAFF,
        region_code=None,
        institution_id=institution_id_by_code(site, world.institution),
    )
    voucher = issue(site, world.scheme.code, world.people[0])
    film = _camera_film(voucher.credential, tmp_path / "qr.y4m")
    camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={film}",
    ]
    browser = playwright_driver.chromium.launch(
        executable_path=executable, args=CHROMIUM_FLAGS + camera
    )
    try:
        context = browser.new_context(
            base_url=live_url, viewport={"width": 390, "height": 844}, locale="zh-CN"
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/sign-in")
        page.locator("#f-username").fill(username)
        page.locator("#f-password").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/institution")
        page.get_by_role("button", name="打开摄像头").click()
        expect(page.get_by_role("heading", name="第二步：在线状态")).to_be_visible()
        expect(page.get_by_label("培训券码")).to_have_value(voucher.credential)
        expect(page.get_by_text("已发放，未使用")).to_be_visible()
        screenshot(page, "scanned-phone")
    finally:
        browser.close()
