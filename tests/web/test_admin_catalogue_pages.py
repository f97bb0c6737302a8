"""The administrator console's first half: overview, scheme editor with its live preview,
launch, institution approval with reasons, issuance campaigns; each within the region."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from builders import (
    CITY,
    OTHER_CITY,
    credit_code,
    deposit,
    import_course,
    import_institution,
    import_people,
    make_scheme,
    person,
    scheme_document,
)
from pages import ENGLISH, sign_in_staff_page, text_of
from principals import staff_headers
from skillvoucher.application.audit_views import AuditQuery, audit_events_for
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Principal, PrincipalKind, Role, Scope, permissions_for
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.people import TargetGroup
from skillvoucher.domain.schemes import SchemeStatus
from skillvoucher.persistence.tables import Scheme

HX = {"HX-Request": "true"}


def sign_in(client: TestClient, ctx: AppContext, role: Role) -> None:
    """Signs a new staff member in; the client sends their CSRF token with every change, as
    htmx does (the pages' forms carry it as a field)."""
    client.headers["X-CSRF-Token"] = sign_in_staff_page(client, ctx, role)


def editor_form(**overrides: Any) -> dict[str, Any]:
    """A complete editor form: unemployed people of Taiyuan aged up to 45, ¥1,500.50 each."""
    form: dict[str, Any] = {
        "code": "TY-WEB-1",
        "name": "太原市失业人员培训券",
        "region": CITY,
        "type": "individual",
        "issuance": "push",
        "target_groups": ["unemployed"],
        "max_age": "45",
        "one_active_voucher": "on",
        "once_per_occupation_level": "on",
        "levels": ["5", "4"],
        "modes": ["offline"],
        "face_value_yuan": "1500.50",
        "quota": "2",
        "budget_yuan": "3001",
        "validity_days": "180",
        "stage_enrolment": "30",
        "stage_certificate": "70",
        "min_attendance_percent": "80",
    }
    form.update(overrides)
    return form


def the_api_document(**overrides: Any) -> dict[str, Any]:
    """The same scheme as ``editor_form()``, written as the API's JSON document."""
    return scheme_document(
        code="TY-WEB-1",
        name="太原市失业人员培训券",
        issuance="push",
        quota=2,
        budget_fen=300_100,
        face_value={"fixed_fen": 150_050},
        validity={"days": 180},
        eligibility={"target_groups": ["unemployed"], "max_age": 45},
        courses={"levels": ["5", "4"], "modes": ["offline"]},
        **overrides,
    )


def some_people(ctx: AppContext) -> None:
    """Three who qualify for ``editor_form()``, and three who do not (age, group, city)."""
    import_people(
        ctx,
        [
            person(age=25),
            person(age=30),
            person(age=44),
            person(age=50),
            person(groups=[TargetGroup.DISABLED]),
            person(region=OTHER_CITY),
        ],
    )


def figures(html: str) -> dict[str, str]:
    """Each ``data-figure`` of the page: its amount in fen where it has one, else its text."""
    found = re.findall(r'data-figure="(\w+)"(?: data-fen="(-?\d+)")?>([^<]*)<', html)
    return {name: fen or text.strip() for name, fen, text in found}


def scheme_row(ctx: AppContext, code: str) -> Scheme | None:
    with ctx.unit_of_work() as uow:
        return uow.schemes.by_code(code)


def test_the_editor_shows_field_errors_in_chinese_and_in_english(
    client: TestClient, ctx: AppContext
) -> None:
    sign_in(client, ctx, Role.CITY_ADMIN)
    page = client.get("/admin/schemes/new")
    assert page.status_code == 200
    assert 'hx-post="/admin/schemes/preview"' in page.text
    assert f'<option value="{CITY}" selected>' in page.text
    assert OTHER_CITY not in page.text  # only regions within the administrator's own

    bad = editor_form(
        code="", quota="0", budget_yuan="12.345", min_age="12", institutions="91140100-BAD"
    )
    chinese = client.post("/admin/schemes", data=bad)
    assert chinese.status_code == 422
    text = text_of(chinese.text)
    assert "此项为必填项" in text  # code
    assert "元金额最多两位小数" in text  # budget in yuan with fen at most
    assert "请输入18位统一社会信用代码" in text
    # code, quota, budget, min_age, institutions
    assert chinese.text.count('aria-invalid="true"') == 5
    assert 'value="太原市失业人员培训券"' in chinese.text  # what was typed stays

    # Fields that are right alone but wrong together are shown once the others are right.
    english = client.post(
        "/admin/schemes",
        data=editor_form(stage_certificate="60", min_age="50", type="enterprise"),
        headers=ENGLISH,
    )
    assert english.status_code == 422
    text = html.unescape(text_of(english.text))
    assert "The stages' percentages must add up to 100." in text
    assert "The highest age is below the lowest." in text
    assert "Enterprise schemes issue on the enterprise's application." in text
    assert scheme_row(ctx, "TY-WEB-1") is None


def test_the_live_preview_counts_as_the_api_preview_does(
    client: TestClient, ctx: AppContext
) -> None:
    some_people(ctx)
    deposit(ctx, 1_000_000)
    sign_in(client, ctx, Role.CITY_ADMIN)

    fragment = client.post("/admin/schemes/preview", data=editor_form(), headers=HX)
    assert fragment.status_code == 200
    shown = figures(fragment.text)
    api = client.post(
        "/api/v1/scheme-previews",
        json=the_api_document(),
        headers=staff_headers(ctx, Role.CITY_ADMIN),
    ).json()
    assert api["eligible"] == 3
    for name in ("eligible", "reachable", "budget_needed_fen", "budget_fen"):
        assert int(shown[name]) == api[name], name
    assert int(shown["quota_cost_fen"]) == 2 * 150_050
    assert int(shown["fund_available_fen"]) == 1_000_000
    # 3 qualify, the quota lets 2 in: ¥3,001.00 covers them exactly.
    assert "¥3,001.00" in fragment.text

    widened = client.post(
        "/admin/schemes/preview", data=editor_form(max_age="", quota="10"), headers=HX
    )
    assert figures(widened.text)["eligible"] == "4"
    assert "预算不足以覆盖" in text_of(widened.text)

    # A value per level commits the largest one per voucher.
    by_level = client.post(
        "/admin/schemes/preview",
        data=editor_form(face_value_yuan="", face_level_5="800", face_level_4="1200.5"),
        headers=HX,
    )
    assert figures(by_level.text)["quota_cost_fen"] == str(2 * 120_050)

    incomplete = client.post("/admin/schemes/preview", data=editor_form(quota=""), headers=HX)
    assert 'data-preview="incomplete"' in incomplete.text


def test_a_draft_is_saved_then_launched_and_a_launch_without_money_is_refused(
    client: TestClient, ctx: AppContext
) -> None:
    sign_in(client, ctx, Role.CITY_ADMIN)
    saved = client.post("/admin/schemes", data=editor_form(), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/schemes/TY-WEB-1?done=saved"
    page = client.get(saved.headers["location"])
    assert 'data-status="draft"' in page.text
    assert "¥1,500.50" in page.text
    assert "¥3,001.00" in page.text

    again = client.post("/admin/schemes", data=editor_form())
    assert again.status_code == 409
    assert "已存在" in text_of(again.text)

    refused = client.post("/admin/schemes/TY-WEB-1/launch", headers=ENGLISH)
    assert refused.status_code == 409
    assert "Insufficient funds" in text_of(refused.text)
    assert 'data-status="draft"' in refused.text

    deposit(ctx, 300_100)
    launched = client.post("/admin/schemes/TY-WEB-1/launch", follow_redirects=False)
    assert launched.status_code == 303
    page = client.get(launched.headers["location"])
    assert 'data-status="active"' in page.text
    assert "进行中" in text_of(page.text)
    stored = scheme_row(ctx, "TY-WEB-1")
    assert stored is not None
    assert stored.status is SchemeStatus.ACTIVE
    assert stored.available_fen == 300_100
    assert stored.face_value_max_fen == 150_050  # ¥1,500.50 typed, fen exactly


def test_a_draft_is_changed_in_the_editor_until_it_is_launched(
    client: TestClient, ctx: AppContext
) -> None:
    listed = credit_code(CITY)
    sign_in(client, ctx, Role.CITY_ADMIN)
    client.post("/admin/schemes", data=editor_form())
    editor = client.get("/admin/schemes/TY-WEB-1/edit")
    assert editor.status_code == 200
    assert 'action="/admin/schemes/TY-WEB-1/edit"' in editor.text
    assert 'value="1500.50"' in editor.text  # fen shown back as yuan
    assert 'value="3001.00"' in editor.text
    assert 'value="unemployed" checked' in editor.text

    changed = client.post(
        "/admin/schemes/TY-WEB-1/edit",
        data=editor_form(
            code="OTHER-CODE", budget_yuan="2000", max_age="40", institutions=listed.lower()
        ),
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == "/admin/schemes/TY-WEB-1?done=changed"
    stored = scheme_row(ctx, "TY-WEB-1")
    assert stored is not None
    assert stored.budget_fen == 200_000
    assert stored.rules["eligibility"]["max_age"] == 40
    assert stored.rules["courses"]["institutions"] == [listed]
    assert f'value="{listed}"' in client.get("/admin/schemes/TY-WEB-1/edit").text
    assert scheme_row(ctx, "OTHER-CODE") is None

    wrong = client.post("/admin/schemes/TY-WEB-1/edit", data=editor_form(quota="-1"))
    assert wrong.status_code == 422
    assert "数值过小" in text_of(wrong.text)

    deposit(ctx, 200_000)
    client.post("/admin/schemes/TY-WEB-1/launch")
    assert client.get("/admin/schemes/TY-WEB-1/edit", follow_redirects=False).status_code == 303
    late = client.post("/admin/schemes/TY-WEB-1/edit", data=editor_form(budget_yuan="1000"))
    assert late.status_code == 409
    stored = scheme_row(ctx, "TY-WEB-1")
    assert stored is not None
    assert stored.budget_fen == 200_000


def test_an_institution_is_approved_or_refused_only_with_a_reason(
    client: TestClient, ctx: AppContext
) -> None:
    waiting = import_institution(ctx, name="太原市新建培训学校", approval_status="pending")
    import_course(ctx, waiting, name="育婴员(五级)")
    other = import_institution(ctx, name="太原市另一所学校", approval_status="pending")
    waiting_id = institution_id_by_code(ctx, waiting)
    other_id = institution_id_by_code(ctx, other)
    sign_in(client, ctx, Role.CITY_ADMIN)

    listed = text_of(client.get("/admin/institutions").text)
    assert "太原市新建培训学校" in listed
    assert "太原市另一所学校" in listed
    page = client.get(f"/admin/institutions/{waiting_id}")
    assert "育婴员(五级)" in text_of(page.text)

    for decision in ("approve", "refuse"):
        without = client.post(f"/admin/institutions/{waiting_id}/{decision}", data={"reason": " "})
        assert without.status_code == 422
        assert "此项为必填项" in text_of(without.text)
    assert status_of(ctx, waiting_id) is ApprovalStatus.PENDING

    approved = client.post(
        f"/admin/institutions/{waiting_id}/approve",
        data={"reason": "办学许可证与师资核验通过"},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    shown = client.get(approved.headers["location"])
    assert 'data-status="approved"' in shown.text
    assert "办学许可证与师资核验通过" in text_of(shown.text)
    assert status_of(ctx, waiting_id) is ApprovalStatus.APPROVED

    refused = client.post(
        f"/admin/institutions/{other_id}/refuse",
        data={"reason": "场地不符合要求"},
        headers=ENGLISH,
        follow_redirects=True,
    )
    assert 'data-status="revoked"' in refused.text
    assert "Refused" in text_of(refused.text)
    assert "场地不符合要求" in text_of(refused.text)
    # An approved institution is not refused here (suspension is the risk page's).
    late = client.post(f"/admin/institutions/{waiting_id}/refuse", data={"reason": "x"})
    assert late.status_code == 409

    admin = staff_principal(ctx)
    events = audit_events_for(
        ctx, admin, AuditQuery(entity_type="institution", entity_id=str(other_id)), None, 10
    ).items
    assert [(e.action, e.payload["reason"]) for e in events] == [
        ("institution.refused", "场地不符合要求")
    ]
    assert events[0].actor.startswith("staff:city-admin-")


def status_of(ctx: AppContext, institution_id: uuid.UUID) -> ApprovalStatus:
    with ctx.unit_of_work() as uow:
        found = uow.catalogue.institution(institution_id)
        assert found is not None
        return found.approval_status


def staff_principal(ctx: AppContext, role: Role = Role.CITY_ADMIN) -> Principal:
    return Principal(
        PrincipalKind.STAFF,
        uuid.uuid4(),
        role,
        permissions_for(role),
        Scope.of_region(CITY),
        "staff:test",
    )


def test_a_city_administrator_sees_nothing_of_another_city(
    client: TestClient, ctx: AppContext
) -> None:
    deposit(ctx, region=OTHER_CITY)
    make_scheme(ctx, code="DT-2026-IND", name="大同市培训券", region=OTHER_CITY)
    theirs = institution_id_by_code(
        ctx,
        import_institution(
            ctx, name="大同市培训学校", region=OTHER_CITY, approval_status="pending"
        ),
    )
    sign_in(client, ctx, Role.CITY_ADMIN)

    assert "DT-2026-IND" not in client.get("/admin/schemes").text
    assert "大同市培训学校" not in client.get("/admin/institutions").text
    for path in (
        "/admin/schemes/DT-2026-IND",
        "/admin/issuance/DT-2026-IND",
        "/admin/issuance/DT-2026-IND/progress",
        f"/admin/institutions/{theirs}",
    ):
        assert client.get(path).status_code == 404, path
    for path, data in (
        ("/admin/schemes/DT-2026-IND/pause", {}),
        ("/admin/schemes/DT-2026-IND/edit", editor_form(code="DT-2026-IND")),
        ("/admin/issuance/DT-2026-IND/push", {}),
        (f"/admin/institutions/{theirs}/approve", {"reason": "ok"}),
    ):
        assert client.post(path, data=data).status_code == 404, path
    assert status_of(ctx, theirs) is ApprovalStatus.PENDING

    # Nor may a scheme be written for another city.
    outside = client.post("/admin/schemes", data=editor_form(region=OTHER_CITY))
    assert outside.status_code == 422
    assert scheme_row(ctx, "TY-WEB-1") is None


def test_the_overview_and_an_auditors_read_only_view(client: TestClient, ctx: AppContext) -> None:
    deposit(ctx)
    make_scheme(ctx)
    make_scheme(ctx, code="TY-2026-DRAFT", launch=False)
    import_institution(ctx, approval_status="pending")
    sign_in(client, ctx, Role.CITY_ADMIN)
    home = client.get("/admin", headers=ENGLISH)
    assert home.status_code == 200
    text = text_of(home.text)
    assert "Taiyuan" in text or "太原" in text
    assert figures(home.text)["pending"] == "1"
    assert "New scheme" in text

    client.cookies.clear()
    sign_in(client, ctx, Role.AUDITOR)
    home = client.get("/admin")
    assert home.status_code == 200
    assert "/admin/schemes/new" not in home.text
    assert 'data-figure="pending"' not in home.text
    assert client.get("/admin/schemes/TY-2026-IND").status_code == 200
    assert "/launch" not in client.get("/admin/schemes/TY-2026-DRAFT").text
    assert client.get("/admin/schemes/new").status_code == 403
    assert client.post("/admin/schemes/TY-2026-DRAFT/launch").status_code == 403
    assert client.get("/admin/institutions").status_code == 403


def test_a_push_campaign_from_its_page_shows_its_outcome_and_progress(
    client: TestClient, ctx: AppContext
) -> None:
    some_people(ctx)
    deposit(ctx)
    make_scheme(
        ctx,
        code="TY-PUSH",
        issuance="push",
        quota=10,
        eligibility={"target_groups": ["unemployed"], "max_age": 45},
    )
    make_scheme(ctx, code="TY-APPLY")
    sign_in(client, ctx, Role.CITY_ADMIN)

    listed = text_of(client.get("/admin/issuance").text)
    assert "TY-PUSH" in listed
    assert "TY-APPLY" in listed
    page = client.get("/admin/issuance/TY-PUSH")
    assert 'hx-trigger="every 3s"' in page.text
    assert figures(page.text)["eligible_left"] == "3"
    assert "/admin/issuance/TY-APPLY/push" not in client.get("/admin/issuance/TY-APPLY").text

    pushed = client.post("/admin/issuance/TY-PUSH/push", follow_redirects=False)
    assert pushed.status_code == 303
    page = client.get(pushed.headers["location"])
    assert figures(page.text)["pushed"] == "3"
    assert figures(page.text)["issued"] == "3"

    again = client.post("/admin/issuance/TY-PUSH/push", headers=HX)
    assert figures(again.text)["pushed"] == "0"
    progress = client.get("/admin/issuance/TY-PUSH/progress", headers=HX)
    assert figures(progress.text)["issued"] == "3"
    assert figures(progress.text)["eligible_left"] == "0"

    wrong = client.post("/admin/issuance/TY-APPLY/push", headers=ENGLISH)
    assert wrong.status_code == 409
    assert "not by push" in text_of(wrong.text)
