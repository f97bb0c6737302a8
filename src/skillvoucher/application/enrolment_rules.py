"""What an enrolment decides about a course, shared by one enrolment (``enrolment.enrol_locked``)
and a chunk of them (``enrolment_batches``) so that both decide it with the same code: the
course's facts as the scheme's rules see them, why it cannot take a voucher now, and the
consent code's digest."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.domain.catalogue import ApprovalStatus, CourseApproval
from skillvoucher.domain.errors import CourseNotUsable
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.schemes import CourseFacts, SchemeRules, course_unusable_reasons
from skillvoucher.domain.timekeeping import local_date
from skillvoucher.persistence.tables import Course, Institution


def course_facts(course: Course, institution: Institution) -> CourseFacts:
    return CourseFacts(
        occupation_code=course.occupation_code,
        skill_level=course.skill_level,
        mode=course.mode,
        institution_credit_code=institution.credit_code,
        institution_region=institution.region_code,
        institution_approved=institution.approval_status is ApprovalStatus.APPROVED,
        price_fen=course.price_fen,
        course_approved=course.approval_status is CourseApproval.APPROVED,
    )


def course_refusal(
    rules: SchemeRules, facts: CourseFacts, course: Course, now: datetime
) -> CourseNotUsable | None:
    """Why a voucher of ``rules`` cannot be enrolled on ``course`` at ``now``, or None."""
    reasons = course_unusable_reasons(rules, facts)
    if course.end_date < local_date(now):
        reasons.append(f"the course ended on {course.end_date}")
    if reasons:
        return CourseNotUsable(
            f"course {course.course_code} cannot take this voucher: {'; '.join(reasons)}"
        )
    return None


ONCE_PER_OCCUPATION = "the holder already used a voucher for this occupation and skill level"
CONSENT_INVALID = "the consent code is wrong, expired or already used"


def consent_digest(ctx: AppContext, voucher_id: uuid.UUID, code: str) -> str:
    """The keyed digest a consent code is stored and checked by (never the code itself)."""
    return ctx.digest(f"{voucher_id}:{code.strip()}")


def new_consent_code(
    ctx: AppContext, voucher_id: uuid.UUID, province: str, now: datetime, expires_at: datetime
) -> tuple[str, dict[str, Any]]:
    """A fresh six-digit consent code and the row that stores only its digest."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = {
        "id": new_id(),
        "voucher_id": voucher_id,
        "province_code": province,  # the voucher's
        "code_digest": consent_digest(ctx, voucher_id, code),
        "created_at": now,
        "expires_at": expires_at,
        "used_at": None,
    }
    return code, row


def course_full(course: Course) -> CourseNotUsable:
    return CourseNotUsable(f"course {course.course_code} is full or was just refused")
