"""My training: each enrolment's course, institution, attendance against what is required,
completion and certificate; a completed course can be rated once."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.dependencies import Context
from skillvoucher.application.worker_portal import my_training
from skillvoucher.application.worker_ratings import MAX_COMMENT_CHARS, rate_course
from skillvoucher.domain.errors import DomainError
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import request_language
from skillvoucher.web.routes import worker_disputes
from skillvoucher.web.routes.worker_frame import Worker, acting, worker_page

router = APIRouter()


class RatingForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)


def _training_page(
    request: Request,
    ctx: Context,
    worker: Worker,
    *,
    rating_for: uuid.UUID | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return worker_page(
        request,
        ctx,
        worker,
        "worker/training.html",
        {
            "training": my_training(ctx, worker),
            "rating_for": rating_for,
            "errors": errors or {},
            "error": error,
            "values": values or {},
            "rated": request.query_params.get("rated") == "1",
            "disputes": worker_disputes.disputes_of_training(ctx, worker),
            "dispute_subjects": worker_disputes.DISPUTE_SUBJECTS,
            "dispute_status": worker_disputes.DISPUTE_STATUS,
            "disputed": request.query_params.get("disputed") == "1",
        },
        status_code=status_code,
    )


@router.get("/training")
def training(request: Request, ctx: Context, worker: Worker) -> Response:
    return _training_page(request, ctx, worker)


@router.post("/training/{enrolment_id:uuid}/rating")
async def rate(request: Request, ctx: Context, worker: Worker, enrolment_id: uuid.UUID) -> Response:
    language = request_language(request)
    form = await request.form()
    values = {key: str(form.get(key, "")) for key in ("score", "comment")}
    try:
        rating = parse_form(RatingForm, form, language)
        rate_course(acting(ctx, worker), worker, enrolment_id, rating.score, rating.comment)
    except FormInvalid as invalid:
        return _training_page(
            request,
            ctx,
            worker,
            rating_for=enrolment_id,
            errors=invalid.errors,
            values=values,
            status_code=422,
        )
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        return _training_page(
            request,
            ctx,
            worker,
            rating_for=enrolment_id,
            error=error_sentence(failure, language),
            values=values,
            status_code=409,
        )
    return RedirectResponse("/worker/training?rated=1", status_code=303)
