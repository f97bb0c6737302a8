"""Administrators review the catalogue: institutions awaiting approval are approved or refused,
each decision with a reason, recorded in the audit trail in the same transaction.

A course is offered to voucher holders when its institution is approved and the course itself
is (``course_approval.py`` decides one course; the institution's page shows both). Suspending
an approved institution, and reinstating it, belong to the risk flags (``risk_flags.py``). A
refusal is kept on the institution's row, so that re-importing the catalogue file cannot undo
it. Rows outside the caller's region answer as missing ones do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.catalogue import (
    ApprovalStatus,
    CourseApproval,
    CourseMode,
    DeliveryModes,
    SkillLevel,
)
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound
from skillvoucher.persistence.read_models import catalogue_review
from skillvoucher.persistence.repositories.audit import AuditQuery
from skillvoucher.persistence.tables import Institution

MAX_REASON_LENGTH = 500
MAX_COURSES_SHOWN = 200
MAX_DECISIONS_SHOWN = 20

APPROVED_ACTION = "institution.approved"
REFUSED_ACTION = "institution.refused"
# Every change of an institution's standing that carries a reason, newest shown first.
DECISION_ACTIONS = frozenset(
    {APPROVED_ACTION, REFUSED_ACTION, "institution.suspended", "institution.reinstated"}
)

# Which decision may follow which status. A refused institution ("revoked") may be approved on
# reconsideration; an approved one is stopped by suspension (risk flags), never refused here.
MAY_APPROVE = frozenset({ApprovalStatus.PENDING, ApprovalStatus.REVOKED})
MAY_REFUSE = frozenset({ApprovalStatus.PENDING})

COURSE_APPROVED_ACTION = "course.approved"
COURSE_REFUSED_ACTION = "course.refused"
# A course has no suspension of its own: refusing an approved course is how an administrator
# withdraws it from voucher holders (enrolments already made go on).
COURSE_MAY_APPROVE = frozenset({CourseApproval.PENDING, CourseApproval.REFUSED})
COURSE_MAY_REFUSE = frozenset({CourseApproval.PENDING, CourseApproval.APPROVED})


@dataclass(frozen=True)
class InstitutionLine:
    institution_id: uuid.UUID
    credit_code: str
    name: str
    region_code: str
    approval_status: ApprovalStatus
    delivery_modes: DeliveryModes
    courses: int
    updated_at: datetime


@dataclass(frozen=True)
class CourseLine:
    course_id: uuid.UUID
    course_code: str
    name: str
    occupation_code: str
    occupation_name: str
    skill_level: SkillLevel
    mode: CourseMode
    hours: int
    price_fen: int
    capacity: int
    start_date: date
    end_date: date
    approval_status: CourseApproval

    @property
    def may_approve(self) -> bool:
        return self.approval_status in COURSE_MAY_APPROVE

    @property
    def may_refuse(self) -> bool:
        return self.approval_status in COURSE_MAY_REFUSE


@dataclass(frozen=True)
class Decision:
    occurred_at: datetime
    actor: str
    action: str
    reason: str | None
    subject: str | None = None
    """What was decided when it is not the institution itself: a course's code."""


@dataclass(frozen=True)
class InstitutionReview:
    institution: InstitutionLine
    suspension_reason: str | None
    courses: list[CourseLine]
    decisions: list[Decision]
    """The institution's decisions with their reasons, newest first."""
    course_decisions: list[Decision]
    """Decisions on its courses, newest first."""

    @property
    def may_approve(self) -> bool:
        return self.institution.approval_status in MAY_APPROVE

    @property
    def may_refuse(self) -> bool:
        return self.institution.approval_status in MAY_REFUSE


def _line(institution: Institution, courses: int) -> InstitutionLine:
    return InstitutionLine(
        institution.id,
        institution.credit_code,
        institution.name,
        institution.region_code,
        institution.approval_status,
        institution.delivery_modes,
        courses,
        institution.updated_at,
    )


def _unknown(institution_id: uuid.UUID) -> NotFound:
    return NotFound(f"institution {institution_id} is not known")


def institutions_for_review(
    ctx: AppContext,
    principal: Principal,
    status: ApprovalStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[InstitutionLine]:
    """Institutions within the caller's region, of one status or all, in id order."""
    principal.require(Permission.CATALOGUE_APPROVE)
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        rows = catalogue_review.institutions_page(
            uow.session, principal.scope, status, cursor_id(cursor), limit + 1
        )
        counts = catalogue_review.course_counts(uow.session, [i.id for i in rows])
        lines = [_line(i, counts.get(i.id, 0)) for i in rows]
    return page_of(lines, limit, lambda line: line.institution_id)


def review_counts(ctx: AppContext, principal: Principal) -> dict[ApprovalStatus, int]:
    """How many institutions within the caller's region have each status."""
    principal.require(Permission.CATALOGUE_APPROVE)
    with ctx.unit_of_work() as uow:
        return catalogue_review.institution_counts(uow.session, principal.scope)


def institution_review(
    ctx: AppContext, principal: Principal, institution_id: uuid.UUID
) -> InstitutionReview:
    """One institution with its courses and its decisions' reasons."""
    principal.require(Permission.CATALOGUE_APPROVE)
    with ctx.unit_of_work() as uow:
        institution = catalogue_review.institution_within(
            uow.session, principal.scope, institution_id
        )
        if institution is None:
            raise _unknown(institution_id)
        courses = catalogue_review.courses_of(uow.session, institution.id, MAX_COURSES_SHOWN)
        events = uow.audit.page(
            principal.scope,
            AuditQuery(entity_type="institution", entity_id=str(institution.id)),
            None,
            MAX_DECISIONS_SHOWN * 5,
        )
        decisions = [
            Decision(e.occurred_at, e.actor, e.action, _reason(e.payload))
            for e in events
            if e.action in DECISION_ACTIONS
        ][:MAX_DECISIONS_SHOWN]
        course_events = catalogue_review.course_decision_events(
            uow.session,
            principal.scope,
            [c.id for c in courses],
            (COURSE_APPROVED_ACTION, COURSE_REFUSED_ACTION),
            MAX_DECISIONS_SHOWN,
        )
        course_decisions = [
            Decision(
                e.occurred_at,
                e.actor,
                e.action,
                _reason(e.payload),
                str(e.payload.get("course_code", "")),
            )
            for e in course_events
        ]
        return InstitutionReview(
            institution=_line(institution, len(courses)),
            suspension_reason=institution.suspension_reason,
            courses=[
                CourseLine(
                    c.id,
                    c.course_code,
                    c.name,
                    c.occupation_code,
                    c.occupation_name,
                    c.skill_level,
                    c.mode,
                    c.hours,
                    c.price_fen,
                    c.capacity,
                    c.start_date,
                    c.end_date,
                    c.approval_status,
                )
                for c in courses
            ],
            decisions=decisions,
            course_decisions=course_decisions,
        )


def _reason(payload: dict[str, Any]) -> str | None:
    reason = payload.get("reason")
    return reason if isinstance(reason, str) else None


def approve_institution(
    ctx: AppContext, principal: Principal, institution_id: uuid.UUID, reason: str
) -> InstitutionLine:
    """Approve a pending (or earlier refused) institution: from this commit on its courses are
    offered to voucher holders. The reason goes into the audit event."""
    return _decide(ctx, principal, institution_id, reason, approve=True)


def refuse_institution(
    ctx: AppContext, principal: Principal, institution_id: uuid.UUID, reason: str
) -> InstitutionLine:
    """Refuse a pending institution (its status becomes ``revoked``); the reason goes into the
    audit event."""
    return _decide(ctx, principal, institution_id, reason, approve=False)


def _decide(
    ctx: AppContext,
    principal: Principal,
    institution_id: uuid.UUID,
    reason: str,
    *,
    approve: bool,
) -> InstitutionLine:
    principal.require(Permission.CATALOGUE_APPROVE)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"a reason of 1 to {MAX_REASON_LENGTH} characters is required")
    allowed, to, action = (
        (MAY_APPROVE, ApprovalStatus.APPROVED, APPROVED_ACTION)
        if approve
        else (MAY_REFUSE, ApprovalStatus.REVOKED, REFUSED_ACTION)
    )
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        institution = catalogue_review.institution_for_update(
            uow.session, principal.scope, institution_id
        )
        if institution is None:
            raise _unknown(institution_id)
        before = institution.approval_status
        if before not in allowed:
            raise IllegalTransition(
                f"institution {institution.credit_code} is {before.value}: it cannot be "
                f"{'approved' if approve else 'refused'}"
            )
        institution.approval_status = to
        institution.updated_at = now
        # Kept on the row while it stands, so that a re-import of the file cannot undo it.
        institution.refused_at = None if approve else now
        institution.refused_by = None if approve else principal.label[:80]
        institution.refusal_reason = None if approve else reason
        uow.audit.record(
            at=now,
            actor=principal.label,
            action=action,
            entity_type="institution",
            entity_id=institution.id,
            region_code=institution.region_code,
            payload={
                "reason": reason,
                "credit_code": institution.credit_code,
                "from": before.value,
                "to": to.value,
            },
        )
        uow.session.flush()
        courses = catalogue_review.course_counts(uow.session, [institution.id])
        line = _line(institution, courses.get(institution.id, 0))
        uow.commit()
    return line
