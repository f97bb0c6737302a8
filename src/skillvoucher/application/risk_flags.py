"""Risk flags for administrators, and what they may do about an institution: suspend it (new
enrolments and all unpaid settlement stop at once, the reason recorded) and reinstate it.

Suspension reuses the catalogue's approval status: a course is usable only at an approved
institution, and settlement refuses to build, approve, publish, export or pay for a suspended
one. Money already earned stays in the ledger; recovering it is a claw-back
(``lifecycle.claw_back_voucher``), which posts reversal entries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from skillvoucher.application.context import AppContext
from skillvoucher.domain import risk
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound
from skillvoucher.persistence.read_models import risk_facts
from skillvoucher.persistence.tables import Institution
from skillvoucher.persistence.unit_of_work import UnitOfWork

MAX_ROWS_PER_RULE = 200  # an administrator reads flags one by one; more is a list to export
MAX_REASON_LENGTH = 200  # the column's width


def risk_flags(
    ctx: AppContext, principal: Principal, rule: risk.RuleCode | None = None
) -> list[risk.RiskFlag]:
    """Every rule's flags within the principal's scope (or one rule's), high severity first."""
    principal.require(Permission.RISK_READ)
    now = ctx.clock()
    scope, limit = principal.scope, MAX_ROWS_PER_RULE
    wanted = set(risk.RuleCode) if rule is None else {rule}
    flags: list[risk.RiskFlag] = []
    with ctx.unit_of_work() as uow:
        session = uow.session
        institution_rules = wanted & {
            risk.RuleCode.ENROLMENT_SPIKE,
            risk.RuleCode.HIGH_COMPLETION_RATE,
            risk.RuleCode.HIGH_CERTIFICATE_RATE,
            risk.RuleCode.NEW_INSTITUTION_VOLUME,
        }
        if institution_rules:
            # The rates compare each institution with the rest of its city: all of them count.
            institutions = risk_facts.institution_facts(session, scope, now, limit * 50)
            flags += risk.enrolment_spikes(institutions)
            flags += risk.high_outcome_rates(institutions)
            flags += risk.new_institutions_with_volume(institutions, now)
            flags = [f for f in flags if f.rule in wanted]
        if risk.RuleCode.SHARED_MOBILE in wanted:
            flags += risk.shared_mobiles(risk_facts.shared_mobiles(session, scope, limit))
        if risk.RuleCode.SHARED_DEVICE in wanted:
            flags += risk.shared_devices(risk_facts.device_uses(session, scope, now, limit))
        if risk.RuleCode.REPEATED_TRAINING in wanted:
            flags += risk.repeated_trainings(risk_facts.repeated_trainings(session, scope, limit))
        if risk.RuleCode.IMPOSSIBLE_ATTENDANCE in wanted:
            refused = risk_facts.refused_attendance(session, scope, now, limit)
            flags += risk.repeated_impossible_attendance(refused)
    return risk.by_severity(flags)


@dataclass(frozen=True)
class InstitutionStanding:
    institution_id: uuid.UUID
    credit_code: str
    name: str
    region_code: str
    approval_status: ApprovalStatus
    suspended_at: datetime | None
    suspended_by: str | None
    suspension_reason: str | None


def _standing(institution: Institution) -> InstitutionStanding:
    return InstitutionStanding(
        institution.id,
        institution.credit_code,
        institution.name,
        institution.region_code,
        institution.approval_status,
        institution.suspended_at,
        institution.suspended_by,
        institution.suspension_reason,
    )


Finder = Callable[[UnitOfWork], Institution]


def _within(principal: Principal, institution_id: uuid.UUID) -> Finder:
    def find(uow: UnitOfWork) -> Institution:
        institution = uow.settlement.institution_within(institution_id, principal.scope)
        if institution is None:  # outside the scope: the same words as for a missing one
            raise NotFound(f"institution {institution_id} is not known")
        return institution

    return find


def _by_code(credit_code: str) -> Finder:
    def find(uow: UnitOfWork) -> Institution:
        institution = uow.catalogue.institution_by_code(credit_code)
        if institution is None:
            raise NotFound(f"institution {credit_code} is not known")
        return institution

    return find


def suspend_institution(
    ctx: AppContext, principal: Principal, institution_id: uuid.UUID, reason: str
) -> InstitutionStanding:
    """Suspend an approved institution within the principal's scope, recording who, when and
    why; from this commit on it takes no enrolment and none of its unpaid batches moves."""
    principal.require(Permission.INSTITUTION_SUSPEND)
    return _suspend(ctx, principal.label, _within(principal, institution_id), reason)


def suspend_institution_by_code(
    ctx: AppContext, credit_code: str, reason: str
) -> InstitutionStanding:
    """The operator's suspension (command line), by the institution's credit code."""
    return _suspend(ctx, ctx.actor, _by_code(credit_code), reason)


def reinstate_institution(
    ctx: AppContext, principal: Principal, institution_id: uuid.UUID
) -> InstitutionStanding:
    """Lift a suspension: the institution is approved again and its batches may move on.
    The last suspension's who, when and why stay on the row for the record."""
    principal.require(Permission.INSTITUTION_SUSPEND)
    return _reinstate(ctx, principal.label, _within(principal, institution_id))


def reinstate_institution_by_code(ctx: AppContext, credit_code: str) -> InstitutionStanding:
    """The operator's reinstatement (command line), by the institution's credit code."""
    return _reinstate(ctx, ctx.actor, _by_code(credit_code))


def _suspend(ctx: AppContext, actor: str, find: Finder, reason: str) -> InstitutionStanding:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"a reason of 1 to {MAX_REASON_LENGTH} characters is required")
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        institution = find(uow)
        if institution.approval_status is not ApprovalStatus.APPROVED:
            raise IllegalTransition(
                f"institution {institution.credit_code} is {institution.approval_status.value}: "
                "only an approved institution can be suspended"
            )
        institution.approval_status = ApprovalStatus.SUSPENDED
        institution.suspended_at = now
        institution.suspended_by = actor
        institution.suspension_reason = reason
        institution.updated_at = now
        uow.audit.record(
            at=now,
            actor=actor,
            action="institution.suspended",
            entity_type="institution",
            entity_id=institution.id,
            region_code=institution.region_code,
            payload={"reason": reason, "credit_code": institution.credit_code},
        )
        uow.commit()
        return _standing(institution)


def _reinstate(ctx: AppContext, actor: str, find: Finder) -> InstitutionStanding:
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        institution = find(uow)
        if institution.approval_status is not ApprovalStatus.SUSPENDED:
            raise IllegalTransition(
                f"institution {institution.credit_code} is "
                f"{institution.approval_status.value}, not suspended"
            )
        institution.approval_status = ApprovalStatus.APPROVED
        institution.updated_at = now
        suspended_at = institution.suspended_at
        uow.audit.record(
            at=now,
            actor=actor,
            action="institution.reinstated",
            entity_type="institution",
            entity_id=institution.id,
            region_code=institution.region_code,
            payload={
                "credit_code": institution.credit_code,
                "suspended_at": suspended_at.isoformat() if suspended_at else None,
                "suspension_reason": institution.suspension_reason,
            },
        )
        uow.commit()
        return _standing(institution)
