"""Flags raised on suspicious activity, with their evidence, and suspending or reinstating an
institution with a reason. A flag is a reason to look, never a verdict."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from skillvoucher.api.dependencies import Context
from skillvoucher.api.problems import status_of
from skillvoucher.application.risk_flags import (
    MAX_REASON_LENGTH,
    reinstate_institution,
    risk_flags,
    suspend_institution,
)
from skillvoucher.application.settlement_review import suspended_institutions_for
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.risk import RuleCode, SubjectType
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import N_, request_language, translate
from skillvoucher.web.routes.admin_oversight_forms import DONE_MESSAGES
from skillvoucher.web.session import with_permission
from skillvoucher.web.templating import render

router = APIRouter()

RiskReader = Annotated[Principal, with_permission(P.RISK_READ)]
Suspender = Annotated[Principal, with_permission(P.INSTITUTION_SUSPEND)]

RULE_NAMES = {
    RuleCode.ENROLMENT_SPIKE: N_("Enrolment spike"),
    RuleCode.HIGH_COMPLETION_RATE: N_("Unusually high completion rate"),
    RuleCode.HIGH_CERTIFICATE_RATE: N_("Unusually high certificate rate"),
    RuleCode.SHARED_MOBILE: N_("Many holders share one mobile number"),
    RuleCode.SHARED_DEVICE: N_("One attendance device across institutions"),
    RuleCode.NEW_INSTITUTION_VOLUME: N_("New institution with large volume"),
    RuleCode.REPEATED_TRAINING: N_("Repeated training, same occupation and level"),
    RuleCode.IMPOSSIBLE_ATTENDANCE: N_("Repeated impossible attendance"),
}
# The figures behind a flag (its evidence), named for the reader; unnamed ones show their key.
EVIDENCE_FIGURE_NAMES = {
    "enrolments_last_7_days": N_("Enrolments in the last 7 days"),
    "weekly_mean_before": N_("Weekly mean before"),
    "baseline_weeks": N_("Weeks compared"),
    "threshold_factor": N_("Threshold (times the mean)"),
    "rate_percent": N_("Rate here, per cent"),
    "region_rate_percent": N_("Rate at the city's other institutions, per cent"),
    "count": N_("Count"),
    "enrolled": N_("Enrolled"),
    "region_count": N_("Count at the others"),
    "region_enrolled": N_("Enrolled at the others"),
    "margin_points": N_("Margin (points)"),
    "enrolments": N_("Enrolments"),
    "days_since_created": N_("Days since entering the catalogue"),
    "created_at": N_("Entered the catalogue"),
    "threshold_enrolments": N_("Threshold (enrolments)"),
    "holders": N_("Holders"),
    "person_ids": N_("Holders' internal ids"),
    "people": N_("People"),
    "institutions": N_("Institutions"),
    "events": N_("Check-ins"),
    "window_days": N_("Window (days)"),
    "occupation_code": N_("Occupation"),
    "skill_level": N_("Skill level"),
    "refusals": N_("Refused check-ins"),
    "refusals_by_rule": N_("Refused, by rule"),
    "devices": N_("Refused, by device"),
    "first_refused_at": N_("First refused"),
    "last_refused_at": N_("Last refused"),
    "threshold_refusals": N_("Threshold (refusals)"),
}
SEVERITY_NAMES = {"high": N_("High"), "medium": N_("Medium")}
SUBJECT_NAMES = {
    "institution": N_("Institution"),
    "person": N_("Person"),
    "mobile": N_("Mobile number"),
    "device": N_("Attendance device"),
}


class RiskQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rule: RuleCode | None = None


class SuspendForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


def _risk_page(
    request: Request,
    ctx: Context,
    visitor: Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        query = parse_form(RiskQuery, request.query_params, request_language(request))
    except FormInvalid:
        query = RiskQuery()
    flags = risk_flags(ctx, visitor, query.rule)
    shown = {f"reason-{f.subject_id}" for f in flags if f.subject_type is SubjectType.INSTITUTION}
    for field, message in (errors or {}).items():
        if field not in shown:  # suspended from elsewhere (a batch's page): say it at the top
            label = translate(request_language(request), N_("Reason for suspending"))
            error = f"{label}: {message}"
    return render(
        request,
        "admin/risk.html",
        {
            "flags": flags,
            "rule": query.rule.value if query.rule else "",
            "rules": [(r.value, RULE_NAMES[r]) for r in RuleCode],
            "rule_names": RULE_NAMES,
            "figure_names": EVIDENCE_FIGURE_NAMES,
            "severity_names": SEVERITY_NAMES,
            "subject_names": SUBJECT_NAMES,
            "suspended": suspended_institutions_for(ctx, visitor),
            "errors": errors or {},
            "values": values or {},
            "error": error,
            "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
        },
        status_code=status_code,
    )


@router.get("/risk")
def risk_page(request: Request, ctx: Context, visitor: RiskReader) -> Response:
    return _risk_page(request, ctx, visitor)


@router.post("/risk/institutions/{institution_id:uuid}/suspend")
async def suspend_submit(
    request: Request, ctx: Context, visitor: Suspender, institution_id: uuid.UUID
) -> Response:
    form = await request.form()
    language = request_language(request)
    field = f"reason-{institution_id}"
    values = {field: str(form.get("reason", ""))}
    try:
        data = parse_form(SuspendForm, form, language)
        await run_in_threadpool(suspend_institution, ctx, visitor, institution_id, data.reason)
    except FormInvalid as invalid:
        again = partial(
            _risk_page,
            request,
            ctx,
            visitor,
            errors={field: invalid.errors.get("reason", "")},
            values=values,
            status_code=422,
        )
        return await run_in_threadpool(again)
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        again = partial(
            _risk_page,
            request,
            ctx,
            visitor,
            values=values,
            error=error_sentence(failure, language),
            status_code=status_of(failure),
        )
        return await run_in_threadpool(again)
    return RedirectResponse("/admin/risk?done=suspended", status_code=303)


@router.post("/risk/institutions/{institution_id:uuid}/reinstate")
def reinstate_submit(
    request: Request, ctx: Context, visitor: Suspender, institution_id: uuid.UUID
) -> Response:
    try:
        reinstate_institution(ctx, visitor, institution_id)
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        sentence = error_sentence(failure, request_language(request))
        return _risk_page(request, ctx, visitor, error=sentence, status_code=status_of(failure))
    return RedirectResponse("/admin/risk?done=reinstated", status_code=303)
