"""Disputing a record of my training: its enrolment, its attendance or its completion. While
the dispute is open, the training's settlement waits; an administrator resolves it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.dependencies import Context
from skillvoucher.application.context import AppContext
from skillvoucher.application.disputes import DisputeView, list_disputes, open_dispute
from skillvoucher.application.worker_portal import my_training
from skillvoucher.domain.access import Principal
from skillvoucher.domain.disputes import MAX_REASON_CHARS, DisputeSubject
from skillvoucher.domain.errors import DomainError
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import N_, request_language
from skillvoucher.web.routes.worker_frame import Worker, acting, worker_page

router = APIRouter()

DISPUTE_SUBJECTS = {
    "enrolment": N_("The enrolment itself"),
    "attendance": N_("The attendance recorded"),
    "completion": N_("The completion or certificate"),
}
DISPUTE_STATUS = {
    "open": N_("Dispute open: settlement waits"),
    "upheld": N_("Dispute upheld"),
    "dismissed": N_("Dispute dismissed"),
}


class DisputeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subject: Literal["enrolment", "attendance", "completion"]
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


def disputes_of_training(ctx: AppContext, worker: Principal) -> dict[uuid.UUID, list[DisputeView]]:
    """The holder's disputes, by the enrolment they concern (newest first)."""
    found: dict[uuid.UUID, list[DisputeView]] = defaultdict(list)
    for dispute in list_disputes(ctx, worker, limit=200):
        found[dispute.subject_id].append(dispute)
    return dict(found)


def _page(
    request: Request,
    ctx: Context,
    worker: Worker,
    enrolment_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str],
    status_code: int,
) -> Response:
    return worker_page(
        request,
        ctx,
        worker,
        "worker/training.html",
        {
            "training": my_training(ctx, worker),
            "rating_for": None,
            "errors": {},
            "error": None,
            "values": {},
            "rated": False,
            "disputes": disputes_of_training(ctx, worker),
            "dispute_subjects": DISPUTE_SUBJECTS,
            "dispute_status": DISPUTE_STATUS,
            "dispute_for": enrolment_id,
            "dispute_errors": errors or {},
            "dispute_error": error,
            "dispute_values": values,
        },
        status_code=status_code,
    )


@router.post("/training/{enrolment_id:uuid}/dispute")
async def dispute(
    request: Request, ctx: Context, worker: Worker, enrolment_id: uuid.UUID
) -> Response:
    language = request_language(request)
    form = await request.form()
    values = {key: str(form.get(key, "")) for key in ("subject", "reason")}
    try:
        parsed = parse_form(DisputeForm, form, language)
        open_dispute(
            acting(ctx, worker),
            worker,
            DisputeSubject(parsed.subject),
            enrolment_id,
            parsed.reason,
        )
    except FormInvalid as invalid:
        return _page(
            request,
            ctx,
            worker,
            enrolment_id,
            errors=invalid.errors,
            values=values,
            status_code=422,
        )
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        return _page(
            request,
            ctx,
            worker,
            enrolment_id,
            error=error_sentence(failure, language),
            values=values,
            status_code=409,
        )
    return RedirectResponse("/worker/training?disputed=1", status_code=303)
