"""The institution's training pages: class rosters, one trainee's enrolment with its attendance
and completion forms, the attendance file upload, and the completions still to record."""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime
from functools import partial
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from skillvoucher.api.dependencies import Context
from skillvoucher.api.problems import title_of
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment_access import (
    EnrolmentView,
    enrolment_view,
    list_enrolments,
)
from skillvoucher.application.institution_portal import own_courses
from skillvoucher.application.institution_portal_attendance import record_attendance_upload
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.application.training_access import (
    AttendanceEntry,
    record_attendance_as,
    record_completion_as,
)
from skillvoucher.domain.access import Principal
from skillvoucher.domain.attendance import MAX_MINUTES_PER_EVENT, AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import DomainError, InvalidInput, NotFound
from skillvoucher.domain.timekeeping import SHANGHAI
from skillvoucher.domain.vouchers import EnrolmentStatus
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import ENGLISH, N_, request_language, translate
from skillvoucher.web.routes.institution_frame import Staff, done_message
from skillvoucher.web.templating import render

router = APIRouter()

MAX_ROSTER_PAGES = 10  # 2,000 trainees: more than any class
CHOOSE_A_FILE = N_("Choose a CSV or XLSX file.")
CERTIFICATE_WHOLE = N_("Give the certificate number and its level together.")


class AttendanceForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    occurred_at: datetime
    minutes: int = Field(ge=1, le=MAX_MINUTES_PER_EVENT)
    source: AttendanceSource
    device_id: str | None = Field(default=None, min_length=1, max_length=64)


class CompletionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    certificate_no: str | None = Field(default=None, min_length=4, max_length=40)
    certificate_level: SkillLevel | None = None


def _all_enrolments(
    ctx: AppContext, staff: Principal, course_id: uuid.UUID | None = None
) -> list[EnrolmentView]:
    found: list[EnrolmentView] = []
    cursor = None
    for _ in range(MAX_ROSTER_PAGES):
        page = list_enrolments(
            ctx,
            staff,
            status=EnrolmentStatus.ACTIVE,
            course_id=course_id,
            cursor=cursor,
            limit=MAX_PAGE,
        )
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


@router.get("/rosters")
def rosters_page(request: Request, ctx: Context, staff: Staff) -> Response:
    return render(request, "institution/rosters.html", {"courses": own_courses(ctx, staff)})


@router.get("/rosters/{course_id:uuid}")
def roster_page(request: Request, ctx: Context, staff: Staff, course_id: uuid.UUID) -> Response:
    course = next((c for c in own_courses(ctx, staff) if c.course_id == course_id), None)
    if course is None:
        raise NotFound(f"course {course_id} is not known")
    return render(
        request,
        "institution/roster.html",
        {"course": course, "trainees": _all_enrolments(ctx, staff, course_id)},
    )


def _enrolment_page(
    request: Request,
    ctx: AppContext,
    staff: Principal,
    enrolment_id: uuid.UUID,
    *,
    attendance: dict[str, str] | None = None,
    completion: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    view = enrolment_view(ctx, staff, enrolment_id)
    now = ctx.clock().astimezone(SHANGHAI)
    return render(
        request,
        "institution/enrolment.html",
        {
            "e": view,
            "attendance": attendance or {"occurred_at": now.strftime("%Y-%m-%dT%H:%M")},
            "completion": completion or {},
            "errors": errors or {},
            "error": error,
            "done": done_message(request_language(request), done),
            "sources": [s.value for s in AttendanceSource],
            "levels": [level.value for level in SkillLevel],
        },
        status_code=status_code,
    )


@router.get("/enrolments/{enrolment_id:uuid}")
def enrolment_page(
    request: Request, ctx: Context, staff: Staff, enrolment_id: uuid.UUID, done: str | None = None
) -> Response:
    return _enrolment_page(request, ctx, staff, enrolment_id, done=done)


@router.post("/enrolments/{enrolment_id:uuid}/attendance")
async def attendance_submit(
    request: Request, ctx: Context, staff: Staff, enrolment_id: uuid.UUID
) -> Response:
    language = request_language(request)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("occurred_at", "minutes", "source", "device_id")}
    try:
        data = parse_form(AttendanceForm, form, language)
        moment = data.occurred_at
        if moment.tzinfo is None:  # the form's local time is the institution's: Shanghai
            moment = moment.replace(tzinfo=SHANGHAI)
        entry = AttendanceEntry(
            data.source, moment, data.minutes, enrolment_id=enrolment_id, device_id=data.device_id
        )
        recorded = await run_in_threadpool(
            record_attendance_as, ctx.acting_as(staff.label), staff, entry
        )
    except FormInvalid as invalid:
        return await run_in_threadpool(
            _enrolment_page, request, ctx, staff, enrolment_id,
            attendance=values, errors=invalid.errors, status_code=422,
        )  # fmt: skip
    except NotFound:
        raise
    except DomainError as failure:
        sentence = error_sentence(failure, language)
        # The time is what a refused event is nearly always about (future, before enrolment,
        # outside the course dates, in two places at once).
        is_time = isinstance(failure, InvalidInput) and "minutes" not in failure.message
        return await run_in_threadpool(
            _enrolment_page, request, ctx, staff, enrolment_id,
            attendance=values,
            errors={"occurred_at": sentence} if is_time else None,
            error=None if is_time else sentence,
            status_code=422,
        )  # fmt: skip
    done = "attended" if recorded.recorded else "attended_before"
    return RedirectResponse(f"/institution/enrolments/{enrolment_id}?done={done}", status_code=303)


@router.post("/enrolments/{enrolment_id:uuid}/completion")
async def completion_submit(
    request: Request, ctx: Context, staff: Staff, enrolment_id: uuid.UUID
) -> Response:
    language = request_language(request)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("certificate_no", "certificate_level")}
    try:
        data = parse_form(CompletionForm, form, language)
        if (data.certificate_no is None) != (data.certificate_level is None):
            missing = "certificate_level" if data.certificate_level is None else "certificate_no"
            raise FormInvalid({missing: translate(language, CERTIFICATE_WHOLE)})
        await run_in_threadpool(
            record_completion_as,
            ctx.acting_as(staff.label),
            staff,
            enrolment_id,
            data.certificate_no,
            data.certificate_level,
        )
    except FormInvalid as invalid:
        return await run_in_threadpool(
            _enrolment_page, request, ctx, staff, enrolment_id,
            completion=values, errors=invalid.errors, status_code=422,
        )  # fmt: skip
    except NotFound:
        raise
    except DomainError as failure:
        return await run_in_threadpool(
            _enrolment_page, request, ctx, staff, enrolment_id,
            completion=values, error=error_sentence(failure, language), status_code=409,
        )  # fmt: skip
    return RedirectResponse(
        f"/institution/enrolments/{enrolment_id}?done=completed", status_code=303
    )


def _attendance_page(
    request: Request,
    ctx: AppContext,
    staff: Principal,
    *,
    report: object = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "institution/attendance.html",
        {
            "trainees": _all_enrolments(ctx, staff),
            "report": report,
            "errors": errors or {},
            "problem_title": partial(title_of, english=request_language(request) == ENGLISH),
        },
        status_code=status_code,
    )


@router.get("/attendance")
def attendance_page(request: Request, ctx: Context, staff: Staff) -> Response:
    return _attendance_page(request, ctx, staff)


@router.post("/attendance/upload")
async def attendance_upload(request: Request, ctx: Context, staff: Staff) -> Response:
    language = request_language(request)
    form = await request.form()
    try:
        upload = form.get("file")
        name = upload.filename if isinstance(upload, UploadFile) else None
        suffix = Path(name or "").suffix.lower()
        if not isinstance(upload, UploadFile) or suffix not in (".csv", ".xlsx"):
            return await run_in_threadpool(
                _attendance_page, request, ctx, staff,
                errors={"file": translate(language, CHOOSE_A_FILE)}, status_code=422,
            )  # fmt: skip
        content = await upload.read()
    finally:
        await form.close()  # the upload's spooled file
    try:
        report = await run_in_threadpool(_record_upload, ctx, staff, content, suffix)
    except DomainError as failure:
        return await run_in_threadpool(
            _attendance_page, request, ctx, staff,
            errors={"file": error_sentence(failure, language)}, status_code=422,
        )  # fmt: skip
    return await run_in_threadpool(_attendance_page, request, ctx, staff, report=report)


def _record_upload(ctx: AppContext, staff: Principal, content: bytes, suffix: str) -> object:
    # The tabular reader works on files (it reads a file twice: once to check it whole).
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"attendance{suffix}"
        path.write_bytes(content)
        return record_attendance_upload(ctx.acting_as(staff.label), staff, path)


@router.get("/completions")
def completions_page(request: Request, ctx: Context, staff: Staff) -> Response:
    return render(
        request, "institution/completions.html", {"trainees": _all_enrolments(ctx, staff)}
    )
