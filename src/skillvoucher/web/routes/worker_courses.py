"""Courses a worker's voucher can pay for, filtered by a GET form, and asking to enrol: the
worker gets a one-time consent code to give the institution."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.dependencies import Context
from skillvoucher.application.worker_portal import (
    CourseSearch,
    WorkerVoucher,
    ask_to_enrol,
    course_offers,
    my_vouchers,
    usable_occupations,
)
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.errors import DomainError
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import request_language
from skillvoucher.web.routes.worker_frame import Worker, acting, worker_page

router = APIRouter()


class CourseQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    voucher: uuid.UUID | None = None
    occupation: str | None = Field(default=None, pattern=r"^\d-\d{2}-\d{2}-\d{2}$")
    level: SkillLevel | None = None
    mode: CourseMode | None = None
    cursor: str | None = Field(default=None, max_length=64)


class EnrolRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    voucher_id: uuid.UUID
    course_id: uuid.UUID


def _chosen(usable: list[WorkerVoucher], wanted: uuid.UUID | None) -> WorkerVoucher | None:
    for held in usable:
        if wanted is None or held.voucher.voucher_id == wanted:
            return held
    return None


@router.get("/courses")
def courses(request: Request, ctx: Context, worker: Worker) -> Response:
    language = request_language(request)
    usable = [v for v in my_vouchers(ctx, worker, with_qr=False) if v.usable]
    errors: dict[str, str] = {}
    try:
        query = parse_form(CourseQuery, request.query_params, language)
    except FormInvalid as invalid:
        errors, query = invalid.errors, CourseQuery()
    # A voucher no longer usable (or not the worker's own) falls back to the first usable one.
    chosen = _chosen(usable, query.voucher) or _chosen(usable, None)
    values: dict[str, Any] = {
        "vouchers": usable,
        "chosen": chosen,
        "query": query,
        "errors": errors,
        "offers": None,
        "occupations": [],
    }
    if chosen is not None:
        voucher_id = chosen.voucher.voucher_id
        search = CourseSearch(query.occupation, query.level, query.mode)
        values["offers"] = course_offers(ctx, worker, voucher_id, search, query.cursor)
        values["occupations"] = usable_occupations(ctx, worker, voucher_id)
    status = 422 if errors else 200
    return worker_page(request, ctx, worker, "worker/courses.html", values, status_code=status)


@router.post("/enrol")
async def enrol(request: Request, ctx: Context, worker: Worker) -> Response:
    language = request_language(request)
    form = await request.form()
    try:
        wanted = parse_form(EnrolRequest, form, language)
    except FormInvalid:
        # Only a tampered form lacks these hidden fields: start again from the courses.
        return RedirectResponse("/worker/courses", status_code=303)
    try:
        consent = ask_to_enrol(acting(ctx, worker), worker, wanted.voucher_id, wanted.course_id)
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        return worker_page(
            request,
            ctx,
            worker,
            "worker/consent.html",
            {"consent": None, "error": error_sentence(failure, language)},
            status_code=409 if failure.code != "rate_limited" else 429,
        )
    # Shown in the answer to the POST itself, not after a redirect: the code is a one-time
    # secret that is never stored readable (only its digest), so no later GET could show it,
    # and it must not travel in a URL. Reloading asks for a new code, which is harmless.
    return worker_page(
        request, ctx, worker, "worker/consent.html", {"consent": consent, "error": None}
    )
