"""Course approval in the console: on its institution's page each course is approved or
refused with a required reason, the past decisions show with their reasons, and a refused
course disappears from the worker portal's offers."""

from __future__ import annotations

import html
import uuid

from fastapi.testclient import TestClient

from builders import (
    OTHER_CITY,
    TrainingWorld,
    import_course,
    import_institution,
    issue,
    training_world,
)
from pages import ENGLISH, sign_in_staff_page, sign_in_worker_page, text_of
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role
from skillvoucher.domain.catalogue import CourseApproval


def course_of(ctx: AppContext, institution_code: str, course_code: str) -> tuple[uuid.UUID, str]:
    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(institution_code)
        assert institution is not None
        course = uow.catalogue.course_by_code(institution.id, course_code)
        assert course is not None
        return course.id, course.approval_status.value


def sign_in(client: TestClient, ctx: AppContext, role: Role = Role.CITY_ADMIN) -> None:
    client.headers["X-CSRF-Token"] = sign_in_staff_page(client, ctx, role)


def holder_sees(client: TestClient, ctx: AppContext, world: TrainingWorld) -> str:
    """The worker portal's course offers as the world's first person sees them."""
    voucher = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    with ctx.unit_of_work() as uow:
        person = uow.people.by_digest(ctx.digest(world.people[0].resident_id))
        assert person is not None
    worker = TestClient(client.app)
    sign_in_worker_page(worker, ctx, person.id)
    return text_of(worker.get("/worker/courses", params={"voucher": str(voucher)}).text)


def test_a_course_is_refused_and_approved_again_only_with_a_reason(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx, people=1)
    import_course(ctx, world.institution, course_code="C2", name="家政服务员(五级)")
    institution_id = institution_id_by_code(ctx, world.institution)
    course_id, status = course_of(ctx, world.institution, "C1")
    assert status == "approved"
    sign_in(client, ctx)

    page = client.get(f"/admin/institutions/{institution_id}")
    assert page.status_code == 200
    assert page.text.count('data-course-status="approved"') == 2
    refuse_path = f"/admin/institutions/{institution_id}/courses/{course_id}/refuse"
    assert f'formaction="{refuse_path}"' in page.text
    assert f'for="f-reason-{course_id}"' in page.text  # every course's reason has its label

    without = client.post(refuse_path, data={"reason": "  "})
    assert without.status_code == 422
    assert "此项为必填项" in text_of(without.text)
    assert f'aria-describedby="e-reason-{course_id}"' in without.text
    assert without.text.count('aria-invalid="true"') == 1  # only that course's field
    assert course_of(ctx, world.institution, "C1")[1] == "approved"

    refused = client.post(
        refuse_path, data={"reason": "教学计划与备案不符"}, follow_redirects=False
    )
    assert refused.status_code == 303
    shown = client.get(refused.headers["location"])
    assert "已拒绝该课程" in text_of(shown.text)
    assert 'data-course-status="refused"' in shown.text
    assert 'data-decision="course.refused"' in shown.text
    assert "教学计划与备案不符" in text_of(shown.text)
    assert course_of(ctx, world.institution, "C1")[1] == CourseApproval.REFUSED.value

    offers = holder_sees(client, ctx, world)
    assert "家政服务员(五级)" in offers
    assert "育婴员(五级)" not in offers

    # Refused twice is refused as an illegal move, in the administrator's language.
    again = client.post(refuse_path, data={"reason": "再次"}, headers=ENGLISH)
    assert again.status_code == 409
    assert "Not allowed in the current state: course C1 is refused" in text_of(again.text)

    approved = client.post(
        f"/admin/institutions/{institution_id}/courses/{course_id}/approve",
        data={"reason": "已整改"},
        headers=ENGLISH,
        follow_redirects=True,
    )
    text = html.unescape(text_of(approved.text))
    assert "The course is approved" in text
    assert "Decisions on courses and reasons" in text
    assert text.index("已整改") < text.index("教学计划与备案不符")  # newest first
    assert course_of(ctx, world.institution, "C1")[1] == "approved"


def test_another_citys_course_and_an_auditor_cannot_decide(
    client: TestClient, ctx: AppContext
) -> None:
    theirs = import_institution(ctx, name="大同市技工学校", region=OTHER_CITY)
    import_course(ctx, theirs, course_code="D1")
    theirs_id = institution_id_by_code(ctx, theirs)
    course_id, _ = course_of(ctx, theirs, "D1")
    sign_in(client, ctx)
    path = f"/admin/institutions/{theirs_id}/courses/{course_id}/refuse"
    assert client.post(path, data={"reason": "x"}).status_code == 404
    assert (
        client.post(
            f"/admin/institutions/{theirs_id}/courses/{course_id}/withdraw", data={"reason": "x"}
        ).status_code
        == 404
    )

    client.cookies.clear()
    sign_in(client, ctx, Role.AUDITOR)
    assert client.post(path, data={"reason": "x"}).status_code == 403
    assert course_of(ctx, theirs, "D1")[1] == "approved"
