"""Institution and course approval in the console: the institutions of the administrator's
region by status, each with its courses; every decision (approve or refuse an institution, or
one of its courses) needs a reason."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from skillvoucher.api.dependencies import Context
from skillvoucher.application.catalogue_approval import (
    MAX_REASON_LENGTH,
    approve_institution,
    institution_review,
    institutions_for_review,
    refuse_institution,
    review_counts,
)
from skillvoucher.application.course_approval import approve_course, refuse_course
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.errors import DomainError, NotFound
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import N_, request_language, translate
from skillvoucher.web.routes.admin_console import CONSOLE
from skillvoucher.web.routes.admin_labels import LABELS
from skillvoucher.web.templating import render

router = APIRouter()

Admin = Annotated[Principal, CONSOLE]
DONE = {
    "approve": N_("The institution is approved: its courses are open to voucher holders."),
    "refuse": N_("The institution is refused."),
}
COURSE_DONE = {
    "approve": N_("The course is approved: it takes vouchers while its institution is approved."),
    "refuse": N_("The course is refused: it takes no new enrolment."),
}


class DecisionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


@router.get("/institutions")
def institution_list(
    request: Request,
    ctx: Context,
    admin: Admin,
    status: ApprovalStatus | None = ApprovalStatus.PENDING,
    every_status: Annotated[bool, Query(alias="all")] = False,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Awaiting approval first (the work to do); any other status, or all, on request."""
    shown = None if every_status else status
    page = institutions_for_review(ctx, admin, shown, cursor, 50)
    return render(
        request,
        "admin/institutions.html",
        {
            "page": page,
            "status": shown,
            "counts": review_counts(ctx, admin),
            "statuses": list(ApprovalStatus),
            "labels": LABELS,
        },
    )


def _institution_page(
    request: Request,
    ctx: Context,
    admin: Principal,
    institution_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    reason: str = "",
    notice: str | None = None,
    course_id: uuid.UUID | None = None,
    status_code: int = 200,
) -> Response:
    """The page; ``course_id`` says which course's form ``errors``, ``error`` and ``reason``
    belong to (the institution's own form otherwise)."""
    review = institution_review(ctx, admin, institution_id)
    return render(
        request,
        "admin/institutions_detail.html",
        {
            "review": review,
            "errors": errors or {},
            "error": error,
            "reason": reason,
            "notice": notice,
            "course_id": course_id,
            "max_reason": MAX_REASON_LENGTH,
            "labels": LABELS,
        },
        status_code=status_code,
    )


@router.get("/institutions/{institution_id}")
def institution_page(
    request: Request,
    ctx: Context,
    admin: Admin,
    institution_id: uuid.UUID,
    done: str | None = None,
    course_done: str | None = None,
) -> Response:
    notice = DONE.get(done or "") or COURSE_DONE.get(course_done or "")
    text = translate(request_language(request), notice) if notice else None
    return _institution_page(request, ctx, admin, institution_id, notice=text)


@router.post("/institutions/{institution_id}/{decision}")
async def decide(
    request: Request, ctx: Context, admin: Admin, institution_id: uuid.UUID, decision: str
) -> Response:
    """Approve or refuse, with the reason the form requires."""
    if decision not in DONE:
        raise NotFound(f"no such decision: {decision}")
    admin.require(Permission.CATALOGUE_APPROVE)
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    return await run_in_threadpool(_decide, request, ctx, admin, institution_id, decision, values)


def _decide(
    request: Request,
    ctx: Context,
    admin: Principal,
    institution_id: uuid.UUID,
    decision: str,
    values: dict[str, str],
) -> Response:
    language = request_language(request)
    reason = values.get("reason", "")
    decide_with = approve_institution if decision == "approve" else refuse_institution
    try:
        data = parse_form(DecisionForm, values, language)
        decide_with(ctx, admin, institution_id, data.reason)
    except FormInvalid as invalid:
        return _institution_page(
            request,
            ctx,
            admin,
            institution_id,
            errors=invalid.errors,
            reason=reason,
            status_code=422,
        )
    except NotFound:
        raise
    except DomainError as failure:
        sentence = error_sentence(failure, language)
        return _institution_page(
            request, ctx, admin, institution_id, error=sentence, reason=reason, status_code=409
        )
    return RedirectResponse(f"/admin/institutions/{institution_id}?done={decision}", 303)


@router.post("/institutions/{institution_id}/courses/{course_id}/{decision}")
async def decide_course(
    request: Request,
    ctx: Context,
    admin: Admin,
    institution_id: uuid.UUID,
    course_id: uuid.UUID,
    decision: str,
) -> Response:
    """Approve or refuse one course of the institution, with the reason the form requires."""
    if decision not in COURSE_DONE:
        raise NotFound(f"no such decision: {decision}")
    admin.require(Permission.CATALOGUE_APPROVE)
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    return await run_in_threadpool(
        _decide_course, request, ctx, admin, institution_id, course_id, decision, values
    )


def _decide_course(
    request: Request,
    ctx: Context,
    admin: Principal,
    institution_id: uuid.UUID,
    course_id: uuid.UUID,
    decision: str,
    values: dict[str, str],
) -> Response:
    language = request_language(request)
    reason = values.get("reason", "")
    decide_with = approve_course if decision == "approve" else refuse_course
    try:
        data = parse_form(DecisionForm, values, language)
        decide_with(ctx, admin, institution_id, course_id, data.reason)
    except FormInvalid as invalid:
        return _institution_page(
            request,
            ctx,
            admin,
            institution_id,
            errors=invalid.errors,
            reason=reason,
            course_id=course_id,
            status_code=422,
        )
    except NotFound:
        raise
    except DomainError as failure:
        return _institution_page(
            request,
            ctx,
            admin,
            institution_id,
            error=error_sentence(failure, language),
            reason=reason,
            course_id=course_id,
            status_code=409,
        )
    return RedirectResponse(
        f"/admin/institutions/{institution_id}?course_done={decision}#course-{course_id}", 303
    )
