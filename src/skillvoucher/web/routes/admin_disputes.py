"""The administrators' disputes page: holders' disputes and objections within scope, resolved
with a note; and objecting to a batch while its public notice runs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.dependencies import Context
from skillvoucher.api.problems import status_of
from skillvoucher.application.disputes import (
    batches_open_to_objection,
    list_disputes,
    open_dispute,
    resolve_dispute,
)
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.disputes import (
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    DisputeOutcome,
    DisputeStatus,
    DisputeSubject,
)
from skillvoucher.domain.errors import DomainError
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import N_, request_language
from skillvoucher.web.session import with_permission
from skillvoucher.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

Resolver = Annotated[Principal, with_permission(P.DISPUTE_RESOLVE)]

SUBJECT_NAMES = {
    "enrolment": N_("Enrolment"),
    "attendance": N_("Attendance"),
    "completion": N_("Completion or certificate"),
    "settlement_line": N_("Settlement line"),
    "batch": N_("Objection to a batch"),
}
STATUS_NAMES = {"open": N_("Open"), "upheld": N_("Upheld"), "dismissed": N_("Dismissed")}
DONE = {
    "resolved": N_("The dispute is resolved."),
    "objected": N_("The objection is recorded: the batch is not paid until it is resolved."),
}


class StatusQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: DisputeStatus | None = DisputeStatus.OPEN


class ResolveForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    outcome: DisputeOutcome
    note: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class ObjectionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    batch_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


def _disputes_page(
    request: Request,
    ctx: Context,
    admin: Principal,
    *,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    language = request_language(request)
    try:
        query = parse_form(StatusQuery, request.query_params, language)
    except FormInvalid:
        query = StatusQuery()
    if request.query_params.get("status") == "":
        query = StatusQuery(status=None)
    return render(
        request,
        "admin/disputes.html",
        {
            "disputes": list_disputes(ctx, admin, query.status, limit=100),
            "on_notice": batches_open_to_objection(ctx, admin),
            "status": query.status.value if query.status else "",
            "subject_names": SUBJECT_NAMES,
            "status_names": STATUS_NAMES,
            "done": DONE.get(request.query_params.get("done", "")),
            "form": form,
            "errors": errors or {},
            "values": values or {},
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/disputes")
def disputes(request: Request, ctx: Context, admin: Resolver) -> Response:
    return _disputes_page(request, ctx, admin)


@router.post("/disputes/{dispute_id:uuid}/resolve")
async def resolve(
    request: Request, ctx: Context, admin: Resolver, dispute_id: uuid.UUID
) -> Response:
    language = request_language(request)
    raw = await request.form()
    values = {k: str(raw.get(k, "")) for k in ("outcome", "note")}
    form = f"resolve-{dispute_id}"
    try:
        parsed = parse_form(ResolveForm, raw, language)
        resolve_dispute(ctx.acting_as(admin.label), admin, dispute_id, parsed.outcome, parsed.note)
    except FormInvalid as invalid:
        return _disputes_page(
            request, ctx, admin, form=form, errors=invalid.errors, values=values, status_code=422
        )
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        return _disputes_page(
            request,
            ctx,
            admin,
            form=form,
            values=values,
            error=error_sentence(failure, language),
            status_code=status_of(failure),
        )
    return RedirectResponse("/admin/disputes?done=resolved", status_code=303)


@router.post("/disputes/objections")
async def object_to_batch(request: Request, ctx: Context, admin: Resolver) -> Response:
    language = request_language(request)
    raw = await request.form()
    values = {k: str(raw.get(k, "")) for k in ("batch_id", "reason")}
    try:
        parsed = parse_form(ObjectionForm, raw, language)
        open_dispute(
            ctx.acting_as(admin.label), admin, DisputeSubject.BATCH, parsed.batch_id, parsed.reason
        )
    except FormInvalid as invalid:
        return _disputes_page(
            request,
            ctx,
            admin,
            form="objection",
            errors=invalid.errors,
            values=values,
            status_code=422,
        )
    except DomainError as failure:
        return _disputes_page(
            request,
            ctx,
            admin,
            form="objection",
            values=values,
            error=error_sentence(failure, language),
            status_code=status_of(failure),
        )
    return RedirectResponse("/admin/disputes?done=objected", status_code=303)
