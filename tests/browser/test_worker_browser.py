"""The worker portal in a real phone-sized browser: a worker signs in through the e-SSC
simulator, sees their voucher and its QR code, finds a course and gets a consent code."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from builders import issue, training_world
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import enrol
from skillvoucher.application.training import record_attendance
from skillvoucher.domain.attendance import AttendanceSource

pytest_plugins = ("browser_fixtures",)


def test_a_worker_finds_a_course_and_enrols(
    phone: Page, site: AppContext, screenshot: Callable[[Page, str], Path]
) -> None:
    world = training_world(site, people=2)
    holder = world.people[0]
    voucher_id = issue(site, world.scheme.code, holder).voucher_id

    phone.goto("/sign-in")
    phone.get_by_role("link", name="电子社保卡登录").click()
    phone.get_by_label("公民身份号码").fill(holder.resident_id)
    screenshot(phone, "essc-simulator")
    phone.get_by_role("button", name="授权登录").click()
    phone.wait_for_url("**/worker")
    # The resident ID number never travels in a URL.
    assert holder.resident_id not in phone.url

    expect(phone.get_by_role("heading", name="我的培训券", level=1)).to_be_visible()
    expect(phone.get_by_role("heading", name=world.scheme.name)).to_be_visible()
    expect(phone.get_by_text("¥1,500.00").first).to_be_visible()
    qr = phone.get_by_role("img", name="培训券二维码")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] > 100  # type: ignore[index]
    screenshot(phone, "my-vouchers")

    phone.get_by_role("link", name="出示二维码").click()
    expect(phone.get_by_role("heading", name="在培训机构出示此码")).to_be_visible()
    big = phone.get_by_role("img", name="培训券二维码")
    assert big.bounding_box()["width"] > 300  # type: ignore[index]  # fills a phone's width
    screenshot(phone, "voucher-qr")

    phone.get_by_role("link", name="可选课程").click()
    expect(phone.get_by_role("heading", name="育婴员(五级)")).to_be_visible()
    expect(phone.get_by_text("个人支付").first).to_be_visible()
    screenshot(phone, "courses")

    phone.get_by_label("授课方式").select_option("offline")
    phone.get_by_role("button", name="查看课程").click()
    phone.wait_for_url(re.compile(r".*mode=offline.*"))
    phone.get_by_role("button", name="报名此课程").first.click()
    expect(phone.get_by_role("heading", name="您的报名授权码")).to_be_visible()
    code = phone.locator(".consent-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    expect(phone.get_by_text("有效期至")).to_be_visible()
    screenshot(phone, "consent-code")

    # The institution enrols the worker with the code, and the first lesson is recorded.
    enrol(site, voucher_id, world.institution, world.course.course_code, code.inner_text())
    record_attendance(site, voucher_id, AttendanceSource.FACE, site.clock(), 240)
    phone.get_by_role("link", name="我的培训", exact=True).click()
    expect(phone.get_by_role("heading", name="育婴员(五级)")).to_be_visible()
    expect(phone.get_by_text("1 次签到")).to_be_visible()
    screenshot(phone, "my-training")
    phone.get_by_role("link", name=re.compile("^消息")).click()
    expect(phone.get_by_text("收到新培训券")).to_be_visible()
    expect(phone.get_by_text("已报名课程")).to_be_visible()
    screenshot(phone, "notices")
