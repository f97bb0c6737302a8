"""Settlement in the administrator console: batches in scope, building a run, and the review
page of one batch with its actions (approve with four eyes, publish for public notice, mark
paid after the notice, download the payment file). Every refusal is the domain's own, shown
as a sentence in the reader's language."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from skillvoucher.api.dependencies import Context
from skillvoucher.api.problems import status_of
from skillvoucher.application.scoped_settlement import (
    approve_within,
    batches_for,
    build_settlement,
    mark_paid_within,
    payment_file_for,
    publish_within,
)
from skillvoucher.application.settlement_review import review_batch
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.settlement import BatchStatus, Evidence
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import N_, request_language, translate
from skillvoucher.web.routes.admin_oversight_forms import DONE_MESSAGES, with_query
from skillvoucher.web.routes.admin_oversight_risk import EVIDENCE_FIGURE_NAMES, RULE_NAMES
from skillvoucher.web.session import with_permission
from skillvoucher.web.templating import render

router = APIRouter()

Reader = Annotated[Principal, with_permission(P.SETTLEMENT_READ)]
Builder = Annotated[Principal, with_permission(P.SETTLEMENT_BUILD)]
Approver = Annotated[Principal, with_permission(P.SETTLEMENT_APPROVE)]
Payer = Annotated[Principal, with_permission(P.SETTLEMENT_PAY)]
Exporter = Annotated[Principal, with_permission(P.SETTLEMENT_EXPORT)]

BATCHES_PAGE = 50
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # as the API bounds a period

STATUS_NAMES = {
    BatchStatus.DRAFT: N_("Waiting for approval"),
    BatchStatus.APPROVED_ONCE: N_("Approved once, waiting for a second approver"),
    BatchStatus.APPROVED: N_("Approved, not yet published"),
    BatchStatus.PUBLISHED: N_("On public notice"),
    BatchStatus.PAID: N_("Paid"),
}
STATUS_BADGES = {
    BatchStatus.DRAFT: "warn",
    BatchStatus.APPROVED_ONCE: "warn",
    BatchStatus.APPROVED: "",
    BatchStatus.PUBLISHED: "",
    BatchStatus.PAID: "ok",
}
EVIDENCE_NAMES = {
    Evidence.ENROLMENT: N_("Enrolment"),
    Evidence.ATTENDANCE: N_("Attendance"),
    Evidence.COMPLETION: N_("Completion"),
    Evidence.CERTIFICATE: N_("Certificate"),
}


class RunForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    period_start: date = Field(ge=EARLIEST, le=LATEST)
    period_end: date = Field(ge=EARLIEST, le=LATEST)

    @model_validator(mode="after")
    def _ends_after_start(self) -> RunForm:
        if self.period_end < self.period_start:
            raise ValueError("period_end")
        return self


class PaidForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    payment_reference: str = Field(min_length=1, max_length=60)


class BatchListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: BatchStatus | None = None
    cursor: str | None = Field(default=None, max_length=64)


def _list_page(
    request: Request,
    ctx: Context,
    visitor: Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    language = request_language(request)
    try:
        query = parse_form(BatchListQuery, request.query_params, language)
    except FormInvalid:
        query = BatchListQuery()
    page = batches_for(ctx, visitor, query.status, query.cursor, BATCHES_PAGE)
    built = request.query_params.get("built")
    next_link = None
    if page.next_cursor:
        next_link = with_query(request.url.path, status=query.status, cursor=page.next_cursor)
    return render(
        request,
        "admin/settlement.html",
        {
            "batches": page.items,
            "next_link": next_link,
            "status": query.status.value if query.status else "",
            "statuses": [(s.value, STATUS_NAMES[s]) for s in BatchStatus],
            "status_names": STATUS_NAMES,
            "status_badges": STATUS_BADGES,
            "built": _run_counts(request) if built is not None else None,
            "errors": errors or {},
            "values": values or {},
            "error": error,
        },
        status_code=status_code,
    )


def _run_counts(request: Request) -> dict[str, int]:
    counts = {}
    for name in ("built", "existing", "skipped"):
        text = request.query_params.get(name, "0")
        counts[name] = int(text) if text.isdigit() else 0
    return counts


@router.get("/settlement")
def settlement_page(request: Request, ctx: Context, visitor: Reader) -> Response:
    return _list_page(request, ctx, visitor)


@router.post("/settlement/runs")
async def run_submit(request: Request, ctx: Context, visitor: Builder) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    language = request_language(request)
    try:
        data = _parse_run(form, language)
        run = await run_in_threadpool(
            build_settlement, ctx, visitor, data.period_start, data.period_end
        )
    except FormInvalid as invalid:
        again = partial(
            _list_page, request, ctx, visitor, errors=invalid.errors, values=values, status_code=422
        )
        return await run_in_threadpool(again)
    except DomainError as failure:
        again = partial(
            _list_page,
            request,
            ctx,
            visitor,
            values=values,
            error=error_sentence(failure, language),
            status_code=status_of(failure),
        )
        return await run_in_threadpool(again)
    target = with_query(
        "/admin/settlement",
        built=len(run.created),
        existing=run.already_settled,
        skipped=run.suspended,
    )
    return RedirectResponse(target, status_code=303)


def _parse_run(form: Any, language: str) -> RunForm:
    try:
        return parse_form(RunForm, form, language)
    except FormInvalid as invalid:
        if invalid.errors.get("__all__"):
            # The only whole-form rule: the period ends before it starts.
            raise FormInvalid(
                {"period_end": translate(language, N_("The period ends before it starts."))}
            ) from None
        raise


def _batch_page(
    request: Request,
    ctx: Context,
    visitor: Principal,
    batch_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    review = review_batch(ctx, visitor, batch_id)
    done = DONE_MESSAGES.get(request.query_params.get("done", ""))
    return render(
        request,
        "admin/settlement_batch.html",
        {
            "review": review,
            "batch": review.details,
            "summary": review.details.summary,
            "now": ctx.clock(),
            "status_names": STATUS_NAMES,
            "status_badges": STATUS_BADGES,
            "evidence_names": EVIDENCE_NAMES,
            "rule_names": RULE_NAMES,
            "figure_names": EVIDENCE_FIGURE_NAMES,
            "threshold_fen": ctx.settings.settlement_second_approval_fen,
            "errors": errors or {},
            "error": error,
            "done": done,
        },
        status_code=status_code,
    )


@router.get("/settlement/batches/{batch_id:uuid}")
def batch_page(request: Request, ctx: Context, visitor: Reader, batch_id: uuid.UUID) -> Response:
    return _batch_page(request, ctx, visitor, batch_id)


def _after_step(
    request: Request, ctx: Context, visitor: Principal, batch_id: uuid.UUID, step: Any
) -> Response:
    """Run one batch step; back to the batch with what happened, or with the refusal."""
    try:
        summary = step()
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        sentence = error_sentence(failure, request_language(request))
        return _batch_page(
            request, ctx, visitor, batch_id, error=sentence, status_code=status_of(failure)
        )
    done = summary.status.value
    return RedirectResponse(f"/admin/settlement/batches/{batch_id}?done={done}", status_code=303)


@router.post("/settlement/batches/{batch_id:uuid}/approve")
def approve_submit(
    request: Request, ctx: Context, visitor: Approver, batch_id: uuid.UUID
) -> Response:
    return _after_step(
        request, ctx, visitor, batch_id, lambda: approve_within(ctx, visitor, batch_id)
    )


@router.post("/settlement/batches/{batch_id:uuid}/publish")
def publish_submit(
    request: Request, ctx: Context, visitor: Approver, batch_id: uuid.UUID
) -> Response:
    return _after_step(
        request, ctx, visitor, batch_id, lambda: publish_within(ctx, visitor, batch_id)
    )


@router.post("/settlement/batches/{batch_id:uuid}/paid")
async def paid_submit(
    request: Request, ctx: Context, visitor: Payer, batch_id: uuid.UUID
) -> Response:
    form = await request.form()
    try:
        data = parse_form(PaidForm, form, request_language(request))
    except FormInvalid as invalid:
        again = partial(
            _batch_page, request, ctx, visitor, batch_id, errors=invalid.errors, status_code=422
        )
        return await run_in_threadpool(again)
    reference = data.payment_reference
    return await run_in_threadpool(
        _after_step,
        request,
        ctx,
        visitor,
        batch_id,
        lambda: mark_paid_within(ctx, visitor, batch_id, reference),
    )


@router.post("/settlement/batches/{batch_id:uuid}/payment-file")
def payment_file_submit(
    request: Request, ctx: Context, visitor: Exporter, batch_id: uuid.UUID
) -> Response:
    try:
        text, _rows = payment_file_for(ctx, visitor, [batch_id])
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        sentence = error_sentence(failure, request_language(request))
        return _batch_page(
            request, ctx, visitor, batch_id, error=sentence, status_code=status_of(failure)
        )
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="payment-file-{batch_id}.csv"',
            "Cache-Control": "no-store",
        },
    )
