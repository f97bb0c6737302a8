"""Pages under /institution: a training institution's staff verify vouchers and enrol their
holders; the rosters, attendance, completions (``institution_training``) and settlement
statements (``institution_settlement``) hang from the same router."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from skillvoucher.api.dependencies import Context
from skillvoucher.application.enrolment_access import CourseChoice, enrol_as
from skillvoucher.application.institution_portal import check_voucher_code, own_courses
from skillvoucher.credentials.tokens import MAX_TOKEN_CHARS
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import DomainError
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import N_, request_language
from skillvoucher.web.routes import institution_settlement, institution_training
from skillvoucher.web.routes.institution_frame import Staff
from skillvoucher.web.templating import render

router = APIRouter(prefix="/institution", include_in_schema=False)

# What each failed offline check means, for the person at the counter.
CREDENTIAL_MESSAGES = {
    "credential_malformed": N_(
        "This is not a voucher code: the text is damaged or incomplete. "
        "Scan it again or paste the whole text."
    ),
    "credential_unknown_key": N_(
        "The code is signed with a key this system does not know: it was not issued here."
    ),
    "credential_bad_signature": N_(
        "The signature does not match: the code was altered or forged. Do not accept it."
    ),
    "credential_expired": N_("The voucher's validity period is over."),
    "credential_not_yet_valid": N_("The voucher is not valid yet."),
}
NOT_A_VOUCHER = N_("This is not a voucher code.")

# Which field a refused enrolment is about, so the message stands next to it.
ENROL_ERROR_FIELDS = {
    "consent_invalid": "consent_code",
    "course_not_usable": "course_id",
    "already_enrolled": "voucher_id",
    "voucher_expired": "voucher_id",
    "voucher_not_usable": "voucher_id",
}


class CodeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)


class EnrolForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    voucher_id: uuid.UUID
    consent_code: str = Field(min_length=4, max_length=12, pattern=r"^\s*\d+\s*$")
    course_id: uuid.UUID


def _verify_page(
    request: Request,
    *,
    code: str = "",
    check: object = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    # htmx asks for the result alone; a plain form post gets the whole page around it.
    partial = request.headers.get("HX-Request") == "true" and request.method == "POST"
    return render(
        request,
        "institution/_verify_result.html" if partial else "institution/verify.html",
        {
            "code": code,
            "check": check,
            "errors": errors or {},
            "credential_messages": CREDENTIAL_MESSAGES,
            "not_a_voucher": NOT_A_VOUCHER,
        },
        status_code=status_code,
    )


@router.get("")
def verify_page(request: Request, staff: Staff) -> Response:
    return _verify_page(request)


@router.post("/verify")
async def verify_submit(request: Request, ctx: Context, staff: Staff) -> Response:
    form = await request.form()
    code = str(form.get("code", ""))
    try:
        data = parse_form(CodeForm, form, request_language(request))
    except FormInvalid as invalid:
        return _verify_page(
            request, code=code[:MAX_TOKEN_CHARS], errors=invalid.errors, status_code=422
        )
    check = await run_in_threadpool(check_voucher_code, ctx, staff, data.code)
    return _verify_page(request, code=data.code, check=check)


def _enrol_page(
    request: Request,
    ctx: Context,
    staff: Principal,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    # Only approved courses take new enrolments (enrolment refuses the others anyway).
    courses = [course for course in own_courses(ctx, staff) if course.approved]
    return render(
        request,
        "institution/enrol.html",
        {"values": values, "errors": errors or {}, "error": error, "courses": courses},
        status_code=status_code,
    )


@router.get("/enrol")
def enrol_page(
    request: Request, ctx: Context, staff: Staff, voucher: uuid.UUID | None = None
) -> Response:
    return _enrol_page(request, ctx, staff, {"voucher_id": str(voucher or "")})


@router.post("/enrol")
async def enrol_submit(request: Request, ctx: Context, staff: Staff) -> Response:
    language = request_language(request)
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in ("voucher_id", "consent_code", "course_id")}
    try:
        data = parse_form(EnrolForm, form, language)
        enrolled = await run_in_threadpool(
            enrol_as,
            ctx.acting_as(staff.label),
            staff,
            data.voucher_id,
            CourseChoice(course_id=data.course_id),
            data.consent_code.strip(),
        )
    except FormInvalid as invalid:
        return await run_in_threadpool(
            _enrol_page, request, ctx, staff, values, errors=invalid.errors, status_code=422
        )
    except DomainError as failure:
        field = ENROL_ERROR_FIELDS.get(failure.code)
        if failure.code == "not_found":
            field = "course_id" if "course" in failure.message else "voucher_id"
        sentence = error_sentence(failure, language)
        return await run_in_threadpool(
            _enrol_page,
            request,
            ctx,
            staff,
            values,
            errors={field: sentence} if field else None,
            error=None if field else sentence,
            status_code=422 if field else 409,
        )
    return RedirectResponse(
        f"/institution/enrolments/{enrolled.enrolment_id}?done=enrolled", status_code=303
    )


router.include_router(institution_training.router)
router.include_router(institution_settlement.router)
