"""Administrators' decisions on the catalogue outrank the bureau's file: a refused course takes
no voucher and is offered nowhere, a re-import brings back neither a refused course nor a
refused institution (and says so in its report), and every decision carries its reason."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from builders import (
    CITY,
    OTHER_CITY,
    enrol,
    import_course,
    import_institution,
    issue,
    training_world,
    write_csv,
)
from skillvoucher.application import catalogue_import
from skillvoucher.application.catalogue_approval import (
    approve_institution,
    institution_review,
    refuse_institution,
)
from skillvoucher.application.catalogue_views import (
    CourseFilter,
    institution_id_by_code,
    search_courses,
)
from skillvoucher.application.context import AppContext
from skillvoucher.application.course_approval import approve_course, refuse_course
from skillvoucher.application.sign_in import worker_principal
from skillvoucher.application.worker_portal import CourseSearch, course_offer, course_offers
from skillvoucher.domain.access import AccessDenied, Principal, PrincipalKind, Role, Scope
from skillvoucher.domain.access import permissions_for as granted
from skillvoucher.domain.catalogue import ApprovalStatus, CourseApproval
from skillvoucher.domain.errors import CourseNotUsable, IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.persistence.tables import Course


def admin(role: Role = Role.CITY_ADMIN, region: str = CITY) -> Principal:
    return Principal(
        PrincipalKind.STAFF,
        new_id(),
        role,
        granted(role),
        Scope.of_region(region),
        f"staff:{role.value}-{region}",
    )


def course_row(ctx: AppContext, institution_code: str, course_code: str = "C1") -> Course:
    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(institution_code)
        assert institution is not None
        course = uow.catalogue.course_by_code(institution.id, course_code)
        assert course is not None
        uow.session.expunge(course)
        return course


def person_id(ctx: AppContext, resident_id: str) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(resident_id))
        assert found is not None
        return found.id


def test_a_refused_course_takes_no_voucher_and_is_offered_nowhere_until_approved_again(
    ctx: AppContext,
) -> None:
    world = training_world(ctx, people=2)
    import_course(ctx, world.institution, course_code="C2", name="家政服务员(五级)")
    first, second = (issue(ctx, world.scheme.code, p) for p in world.people)
    institution_id = institution_id_by_code(ctx, world.institution)
    course = course_row(ctx, world.institution)
    assert course.approval_status is CourseApproval.APPROVED  # the bureau's file approves

    refused = refuse_course(ctx, admin(), institution_id, course.id, "  教学计划与备案不符  ")
    assert refused.approval_status is CourseApproval.REFUSED

    with pytest.raises(CourseNotUsable, match="the course is not approved"):
        enrol(ctx, first.voucher_id, world.institution, "C1")
    offered = {c.course_code for c in search_courses(ctx, CourseFilter(), None, 50).items}
    assert offered == {"C2"}
    holder = worker_principal(person_id(ctx, world.people[0].resident_id))
    offers = course_offers(ctx, holder, first.voucher_id, CourseSearch())
    assert [o.course.course_code for o in offers.items] == ["C2"]
    with pytest.raises(CourseNotUsable):
        course_offer(ctx, holder, first.voucher_id, course.id)
    with ctx.unit_of_work() as uow:
        assert [c.course_code for c in uow.catalogue.usable_courses("140000")] == ["C2"]

    approve_course(ctx, admin(Role.PROVINCE_ADMIN, "140000"), institution_id, course.id, "已整改")
    enrol(ctx, first.voucher_id, world.institution, "C1")
    # An enrolment made before a refusal goes on; the refusal stops new ones only.
    refuse_course(ctx, admin(), institution_id, course.id, "再次核查不符")
    with pytest.raises(CourseNotUsable):
        enrol(ctx, second.voucher_id, world.institution, "C1")
    with ctx.unit_of_work() as uow:
        assert uow.vouchers.active_enrolment(first.voucher_id) is not None
        events = uow.audit.for_entity("course", course.id)
    assert [(e.action, e.payload["reason"], e.payload["from"]) for e in events] == [
        ("course.refused", "教学计划与备案不符", "approved"),
        ("course.approved", "已整改", "refused"),
        ("course.refused", "再次核查不符", "approved"),
    ]
    assert events[1].actor == "staff:province_admin-140000"

    review = institution_review(ctx, admin(), institution_id)
    by_code = {c.course_code: c for c in review.courses}
    assert by_code["C1"].approval_status is CourseApproval.REFUSED
    assert (by_code["C1"].may_approve, by_code["C1"].may_refuse) == (True, False)
    assert [(d.subject, d.action, d.reason) for d in review.course_decisions] == [
        ("C1", "course.refused", "再次核查不符"),
        ("C1", "course.approved", "已整改"),
        ("C1", "course.refused", "教学计划与备案不符"),
    ]


def test_course_decisions_are_scoped_guarded_and_need_a_reason(ctx: AppContext) -> None:
    world = training_world(ctx, people=1)
    institution_id = institution_id_by_code(ctx, world.institution)
    course = course_row(ctx, world.institution)
    other = import_institution(ctx, name="大同市技工学校", region=OTHER_CITY)
    import_course(ctx, other, course_code="D1")
    theirs = course_row(ctx, other, "D1")

    with pytest.raises(NotFound) as outside:
        refuse_course(ctx, admin(region=OTHER_CITY), institution_id, course.id, "x")
    assert str(outside.value) == f"course {course.id} is not known"
    with pytest.raises(NotFound):  # a course named under another institution
        refuse_course(ctx, admin(), institution_id, theirs.id, "x")
    with pytest.raises(AccessDenied):
        refuse_course(ctx, admin(Role.AUDITOR), institution_id, course.id, "x")
    with pytest.raises(InvalidInput):
        refuse_course(ctx, admin(), institution_id, course.id, "   ")
    with pytest.raises(InvalidInput):
        refuse_course(ctx, admin(), institution_id, course.id, "长" * 501)
    with pytest.raises(IllegalTransition, match="is approved: it cannot be approved"):
        approve_course(ctx, admin(), institution_id, course.id, "again")
    assert course_row(ctx, world.institution).approval_status is CourseApproval.APPROVED
    with ctx.unit_of_work() as uow:
        assert uow.audit.for_entity("course", course.id) == []


def test_a_re_import_keeps_a_refused_course_refused_and_notes_it(ctx: AppContext) -> None:
    world = training_world(ctx, people=1)
    institution_id = institution_id_by_code(ctx, world.institution)
    course = course_row(ctx, world.institution)
    refuse_course(ctx, admin(), institution_id, course.id, "师资不足")

    path = write_csv(
        ctx.settings.data_dir / "courses-again.csv",
        catalogue_import.COURSE_COLUMNS,
        [
            replace(world.course, name="育婴员(五级)新版").row(world.institution),
            replace(world.course, course_code="C9", name="新课程").row(world.institution),
        ],
    )
    report = catalogue_import.import_courses(ctx, path)

    assert (report.inserted, report.updated, report.problems) == (1, 1, [])
    [note] = report.notes
    assert (note.line, note.key) == (2, "C1")
    assert "refused by an administrator" in note.reason
    again = course_row(ctx, world.institution)
    assert (again.name, again.approval_status) == ("育婴员(五级)新版", CourseApproval.REFUSED)
    # A course new to the catalogue comes in approved: the file is the bureau's own.
    assert course_row(ctx, world.institution, "C9").approval_status is CourseApproval.APPROVED


def test_a_re_import_keeps_a_refused_institution_refused_and_notes_it(ctx: AppContext) -> None:
    code = import_institution(ctx, approval_status="pending")
    institution_id = institution_id_by_code(ctx, code)
    refuse_institution(ctx, admin(), institution_id, "场地不符合要求")
    with ctx.unit_of_work() as uow:
        refused = uow.catalogue.institution(institution_id)
        assert refused is not None
        assert (refused.refused_by, refused.refusal_reason) == (
            f"staff:city_admin-{CITY}",
            "场地不符合要求",
        )

    path = write_csv(
        ctx.settings.data_dir / "institutions-again.csv",
        catalogue_import.INSTITUTION_COLUMNS,
        [[code, "改了名字的培训学校", CITY, "approved", "both"]],
    )
    report = catalogue_import.import_institutions(ctx, path)

    assert (report.updated, report.problems) == (1, [])
    [note] = report.notes
    assert (note.line, note.key) == (2, code)
    assert "refused by an administrator (场地不符合要求): stays refused" in note.reason
    with ctx.unit_of_work() as uow:
        again = uow.catalogue.institution(institution_id)
        assert again is not None
        assert (again.name, again.approval_status) == ("改了名字的培训学校", ApprovalStatus.REVOKED)


def test_an_institution_the_file_revoked_is_not_held_by_an_administrators_refusal(
    ctx: AppContext,
) -> None:
    """Only an administrator's refusal outranks the file; a status the file set, the file may
    change again — and an administrator's approval lifts the hold."""
    code = import_institution(ctx, approval_status="revoked")
    import_institution(ctx, code=code, approval_status="approved")
    institution_id = institution_id_by_code(ctx, code)
    with ctx.unit_of_work() as uow:
        found = uow.catalogue.institution(institution_id)
        assert found is not None
        assert found.approval_status is ApprovalStatus.APPROVED

    other = import_institution(ctx, approval_status="pending")
    other_id = institution_id_by_code(ctx, other)
    refuse_institution(ctx, admin(), other_id, "材料不全")
    approve_institution(ctx, admin(), other_id, "补齐材料")
    with ctx.unit_of_work() as uow:
        found = uow.catalogue.institution(other_id)
        assert found is not None
        assert (found.approval_status, found.refused_at) == (ApprovalStatus.APPROVED, None)
