"""Risk flags with their evidence, and suspending or reinstating an institution."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.application.risk_flags import (
    MAX_REASON_LENGTH,
    InstitutionStanding,
    reinstate_institution,
    risk_flags,
    suspend_institution,
)
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.risk import RiskFlag, RuleCode, Severity, SubjectType

router = APIRouter(prefix="/api/v1", tags=["risk"])

RULE_TITLES: dict[RuleCode, tuple[str, str]] = {
    RuleCode.ENROLMENT_SPIKE: ("报名人数激增", "Enrolment spike"),
    RuleCode.HIGH_COMPLETION_RATE: ("结业率异常偏高", "Unusually high completion rate"),
    RuleCode.HIGH_CERTIFICATE_RATE: ("取证率异常偏高", "Unusually high certificate rate"),
    RuleCode.SHARED_MOBILE: ("多名持券人共用一个手机号", "Many holders share one mobile number"),
    RuleCode.SHARED_DEVICE: (
        "同一考勤设备跨机构签到多人",
        "One attendance device across institutions",
    ),
    RuleCode.NEW_INSTITUTION_VOLUME: ("新入库机构报名量大", "New institution with large volume"),
    RuleCode.REPEATED_TRAINING: (
        "同一职业同一等级重复培训",
        "Repeated training, same occupation and level",
    ),
    RuleCode.IMPOSSIBLE_ATTENDANCE: ("反复出现不可能的考勤", "Repeated impossible attendance"),
}


class FlagOut(BaseModel):
    rule: RuleCode
    title_zh: str
    title_en: str
    severity: Severity
    subject_type: SubjectType
    subject_id: str = Field(description="Institution or person id, device id, or masked mobile.")
    subject_label: str
    region_code: str
    reason: str = Field(description="Why the rule fired, in English, with the figures.")
    evidence: dict[str, int | float | str | list[str]]


class FlagList(BaseModel):
    items: list[FlagOut]


class SuspendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class StandingOut(BaseModel):
    institution_id: uuid.UUID
    credit_code: str
    name: str
    region_code: str
    approval_status: ApprovalStatus
    suspended_at: datetime | None
    suspended_by: str | None
    suspension_reason: str | None


def _out(flag: RiskFlag) -> FlagOut:
    zh, en = RULE_TITLES[flag.rule]
    return FlagOut(
        rule=flag.rule,
        title_zh=zh,
        title_en=en,
        severity=flag.severity,
        subject_type=flag.subject_type,
        subject_id=flag.subject_id,
        subject_label=flag.subject_label,
        region_code=flag.region_code,
        reason=flag.reason,
        evidence=flag.evidence,
    )


def _standing(standing: InstitutionStanding) -> StandingOut:
    return StandingOut.model_validate(standing, from_attributes=True)


@router.get("/risk-flags", response_model=FlagList)
def flags(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.RISK_READ)],
    rule: RuleCode | None = None,
) -> FlagList:
    """Risk flags within the caller's scope, high severity first: enrolment spikes, completion
    and certificate rates well above the rest of the city, mobile numbers shared by several
    holders, attendance devices used across institutions, new institutions with large volumes,
    repeated training in the same occupation and level. Each flag says why, with the figures;
    a flag is a reason to look, not a verdict. At most 200 rows per rule are examined."""
    return FlagList(items=[_out(f) for f in risk_flags(ctx, caller, rule)])


@router.post("/institutions/{institution_id:uuid}/suspend", response_model=StandingOut)
def suspend(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.INSTITUTION_SUSPEND)],
    institution_id: uuid.UUID,
    body: SuspendRequest,
) -> StandingOut:
    """Suspend an approved institution within the caller's scope, with the reason. At once it
    takes no new enrolment, settlement runs skip it, and its unpaid batches cannot be approved,
    published, exported or paid (409 `institution_suspended`). Money already paid is recovered
    by clawing vouchers back, which posts reversal entries."""
    return _standing(suspend_institution(ctx, caller, institution_id, body.reason))


@router.post("/institutions/{institution_id:uuid}/reinstate", response_model=StandingOut)
def reinstate(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.INSTITUTION_SUSPEND)],
    institution_id: uuid.UUID,
) -> StandingOut:
    """Lift a suspension: the institution is approved again; the last suspension's who, when
    and why stay on record."""
    return _standing(reinstate_institution(ctx, caller, institution_id))
