"""Every portal's main pages pass axe-core's WCAG 2.1 A and AA rules (labels, names, contrast,
landmarks, language) in a real browser, in Chinese and in English, on a desktop and a phone.

axe-core comes from the npm registry with the portals' other assets (a development dependency
in frontend/package.json); it is injected into the page by the test, never served by the app.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, Response
from playwright.sync_api import Error as PlaywrightError

from builders import Clock, credit_code
from dashboard_world import dashboard_world
from principals import PASSWORD, staff_account
from skillvoucher.api.auth import CSRF_COOKIE, SESSION_COOKIE
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import IssuedSession, sign_in_staff, start_worker_session
from skillvoucher.domain.access import Role
from skillvoucher.persistence.tables import Institution, Person

pytest_plugins = ("browser_fixtures",)

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PAGES = {
    "visitor": ["/sign-in"],
    "worker": ["/worker", "/worker/courses", "/worker/training", "/worker/notices"],
    "institution": [
        "/institution",
        "/institution/rosters",
        "/institution/attendance",
        "/institution/completions",
        "/institution/settlement",
    ],
    "enterprise": ["/enterprise", "/enterprise/request", "/enterprise/training"],
    "city_admin": [
        "/admin",
        "/admin/schemes",
        "/admin/schemes/new",
        "/admin/institutions",
        "/admin/issuance",
        "/admin/funds",
        "/admin/settlement",
        "/admin/risk",
        "/admin/audit",
        "/dashboard",
    ],
}


def _violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate("(rules) => axe.run(document, rules)", RULES)[
        "violations"
    ]
    return found


def _describe(violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in violations
    ]


def _signed_in(
    browser: Browser, live_url: str, issued: IssuedSession | None, **options: Any
) -> BrowserContext:
    # bypass_csp: axe is injected by the test; the pages themselves allow only their own scripts.
    context = browser.new_context(base_url=live_url, bypass_csp=True, **options)
    if issued is not None:
        context.add_cookies(
            [
                {"name": SESSION_COOKIE, "value": issued.token, "url": live_url},
                {"name": CSRF_COOKIE, "value": issued.csrf_token, "url": live_url},
            ]
        )
    return context


def _sessions(site: AppContext) -> dict[str, IssuedSession | None]:
    with site.unit_of_work() as uow:
        worker = uow.session.scalars(sa.select(Person.id).order_by(Person.name)).first()
        school = uow.session.scalars(sa.select(Institution.id).order_by(Institution.name)).first()
    assert worker is not None
    assert school is not None

    def staff(role: Role, **where: Any) -> IssuedSession:
        return sign_in_staff(site, staff_account(site, role, **where), PASSWORD)

    return {
        "visitor": None,
        "worker": start_worker_session(site, worker),
        "institution": staff(Role.INSTITUTION_STAFF, region_code=None, institution_id=school),
        "enterprise": staff(
            Role.ENTERPRISE_HR,
            region_code=None,
            employer_credit_code=credit_code(kind="enterprise"),
        ),
        "city_admin": staff(Role.CITY_ADMIN),
    }


@pytest.mark.parametrize(
    ("size", "language"),
    [
        pytest.param({"viewport": {"width": 1280, "height": 900}}, "zh-CN", id="desktop-zh"),
        pytest.param(
            {"viewport": {"width": 390, "height": 844}, "is_mobile": True}, "en", id="phone-en"
        ),
    ],
)
def test_every_portal_page_passes_wcag_aa(
    browser: Browser,
    live_url: str,
    site: AppContext,
    clock: Clock,
    screenshot: Callable[[Page, str], Path],
    size: dict[str, Any],
    language: str,
) -> None:
    assert AXE.is_file(), "run scripts/build-assets.sh (npm ci installs axe-core)"
    dashboard_world(site, clock)
    problems: dict[str, list[str]] = {}
    checked = 0
    for who, issued in _sessions(site).items():
        context = _signed_in(
            browser,
            live_url,
            issued,
            locale=language,
            extra_http_headers={"Accept-Language": language},
            **size,
        )
        page = context.new_page()
        for path in PAGES[who]:
            answer = page.goto(path)
            assert answer is not None
            assert answer.status == 200, (who, path)
            found = _violations(page)
            if found:
                problems[f"{who} {path}"] = _describe(found)
                screenshot(page, f"a11y-{who}-{path.strip('/').replace('/', '-') or 'home'}")
            checked += 1
        context.close()
    assert checked == sum(len(paths) for paths in PAGES.values())
    assert problems == {}


# A worker on a slow phone network: every worker page, with all it loads, stays this small.
WORKER_PAGE_BUDGET_BYTES = 150_000


def test_worker_pages_are_light_enough_for_a_slow_phone(
    browser: Browser, live_url: str, site: AppContext, clock: Clock
) -> None:
    dashboard_world(site, clock)
    context = _signed_in(
        browser,
        live_url,
        _sessions(site)["worker"],
        viewport={"width": 390, "height": 844},
        is_mobile=True,
    )
    page = context.new_page()
    loaded: list[int] = []

    def count(response: Response) -> None:
        with contextlib.suppress(PlaywrightError):  # a redirect has no body
            loaded.append(len(response.body()))

    page.on("response", count)
    weights: dict[str, int] = {}
    for path in PAGES["worker"]:
        loaded.clear()
        page.goto(path)
        page.wait_for_load_state("networkidle")
        weights[path] = sum(loaded)
    context.close()
    assert all(0 < weight <= WORKER_PAGE_BUDGET_BYTES for weight in weights.values()), weights
