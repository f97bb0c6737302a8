"""Administrators approve or refuse one course of an institution, each decision with a reason,
recorded in the audit trail in the same transaction.

Only an approved course of an approved institution takes a voucher: enrolment refuses any
other (``CourseNotUsable``) and no catalogue search offers it. Courses come in approved from
the bureau's catalogue file; refusing one withdraws it from new enrolments (those already made
go on), and a re-import of the file never brings it back. Courses outside the caller's region
answer as missing ones do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from skillvoucher.application.catalogue_approval import (
    COURSE_APPROVED_ACTION,
    COURSE_MAY_APPROVE,
    COURSE_MAY_REFUSE,
    COURSE_REFUSED_ACTION,
    MAX_REASON_LENGTH,
)
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.catalogue import CourseApproval
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound
from skillvoucher.persistence.read_models import catalogue_review


@dataclass(frozen=True)
class CourseDecided:
    course_id: uuid.UUID
    course_code: str
    approval_status: CourseApproval


def approve_course(
    ctx: AppContext,
    principal: Principal,
    institution_id: uuid.UUID,
    course_id: uuid.UUID,
    reason: str,
) -> CourseDecided:
    """Approve a pending or refused course: from this commit on it takes vouchers (while its
    institution is approved). The reason goes into the audit event."""
    return _decide(ctx, principal, institution_id, course_id, reason, approve=True)


def refuse_course(
    ctx: AppContext,
    principal: Principal,
    institution_id: uuid.UUID,
    course_id: uuid.UUID,
    reason: str,
) -> CourseDecided:
    """Refuse a pending or approved course: no new enrolment from this commit on. The reason
    goes into the audit event."""
    return _decide(ctx, principal, institution_id, course_id, reason, approve=False)


def _decide(
    ctx: AppContext,
    principal: Principal,
    institution_id: uuid.UUID,
    course_id: uuid.UUID,
    reason: str,
    *,
    approve: bool,
) -> CourseDecided:
    principal.require(Permission.CATALOGUE_APPROVE)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"a reason of 1 to {MAX_REASON_LENGTH} characters is required")
    allowed, to, action = (
        (COURSE_MAY_APPROVE, CourseApproval.APPROVED, COURSE_APPROVED_ACTION)
        if approve
        else (COURSE_MAY_REFUSE, CourseApproval.REFUSED, COURSE_REFUSED_ACTION)
    )
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        # Locked: two administrators deciding at once are applied one after the other, and
        # the second one's check below sees the first one's decision.
        course = catalogue_review.course_for_update(
            uow.session, principal.scope, institution_id, course_id
        )
        if course is None:
            raise NotFound(f"course {course_id} is not known")
        before = course.approval_status
        if before not in allowed:
            raise IllegalTransition(
                f"course {course.course_code} is {before.value}: it cannot be "
                f"{'approved' if approve else 'refused'}"
            )
        course.approval_status = to
        course.updated_at = now
        uow.audit.record(
            at=now,
            actor=principal.label,
            action=action,
            entity_type="course",
            entity_id=course.id,
            region_code=course.region_code,
            payload={
                "reason": reason,
                "course_code": course.course_code,
                "institution_id": str(course.institution_id),
                "from": before.value,
                "to": to.value,
            },
        )
        decided = CourseDecided(course.id, course.course_code, to)
        uow.commit()
    return decided
