"""Pages under /enterprise: enterprise HR requests training vouchers for their employees from a
roster file, sees who qualified and why others did not, and follows their training.

Every page acts for the HR's own employer only (their account's credit code), through the same
use cases as the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from skillvoucher.api.dependencies import Context
from skillvoucher.api.routers.issuance import MAX_ROSTER
from skillvoucher.application.context import AppContext
from skillvoucher.application.enterprise_portal import (
    EnterpriseScheme,
    RosterReport,
    employees_training,
    enterprise_home,
    open_schemes,
    request_vouchers,
)
from skillvoucher.application.enterprise_portal_roster import (
    RosterRefused,
    read_roster,
    roster_template,
)
from skillvoucher.domain.access import Principal, Role
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.web.enterprise_portal_messages import (
    NO_FILE,
    OUTCOME_LABELS,
    STATUS_LABELS,
    refusal_sentence,
    why_not,
)
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import request_language, translate
from skillvoucher.web.session import for_roles
from skillvoucher.web.templating import render

router = APIRouter(prefix="/enterprise", include_in_schema=False)

HumanResources = Annotated[Principal, for_roles(Role.ENTERPRISE_HR)]
TEMPLATE_NAME = "roster-template.xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TRAINING_PAGE = 50


class RosterRequestForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    scheme_code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")


@router.get("")
def home(request: Request, ctx: Context, hr: HumanResources) -> Response:
    summary = enterprise_home(ctx, hr)
    return render(
        request, "enterprise/home.html", {"home": summary, "status_labels": STATUS_LABELS}
    )


def _request_page(
    request: Request,
    schemes: list[EnterpriseScheme],
    *,
    chosen: str = "",
    errors: dict[str, str] | None = None,
    error: str | None = None,
    report: RosterReport | None = None,
    status_code: int = 200,
) -> Response:
    language = request_language(request)
    why = [why_not(line, language) for line in report.lines] if report else []
    return render(
        request,
        "enterprise/request.html",
        {
            "schemes": schemes,
            "chosen": chosen,
            "errors": errors or {},
            "error": error,
            "report": report,
            "why": why,
            "outcome_labels": OUTCOME_LABELS,
            "max_lines": MAX_ROSTER,
        },
        status_code=status_code,
    )


@router.get("/request")
def request_form(request: Request, ctx: Context, hr: HumanResources, scheme: str = "") -> Response:
    return _request_page(request, open_schemes(ctx, hr), chosen=scheme)


@router.post("/request")
async def request_submit(request: Request, ctx: Context, hr: HumanResources) -> Response:
    """Reads the roster and issues at once, answering with every line's outcome. No redirect:
    the outcomes are not stored anywhere to show again, and sending the form twice is safe
    (those already issued are reported as holding a voucher, never issued twice)."""
    form = await request.form()
    try:
        return await _request_from(request, ctx, hr, form)
    finally:
        await form.close()  # the uploaded file's temporary copy


async def _request_from(
    request: Request, ctx: AppContext, hr: Principal, form: FormData
) -> Response:
    language = request_language(request)
    schemes = await run_in_threadpool(open_schemes, ctx, hr)
    chosen = str(form.get("scheme_code", ""))
    upload = form.get("roster")
    errors: dict[str, str] = {}
    scheme_code = ""
    try:
        scheme_code = parse_form(RosterRequestForm, form, language).scheme_code
    except FormInvalid as invalid:
        errors.update(invalid.errors)
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["roster"] = translate(language, NO_FILE)
    if errors or not isinstance(upload, UploadFile):
        return _request_page(request, schemes, chosen=chosen, errors=errors, status_code=422)
    try:
        roster = await run_in_threadpool(
            read_roster, upload.file, upload.filename or "", MAX_ROSTER
        )
        report = await run_in_threadpool(request_vouchers, ctx, hr, scheme_code, roster)
    except RosterRefused as refused:
        sentence = refusal_sentence(refused, language, MAX_ROSTER)
        return _request_page(
            request, schemes, chosen=chosen, errors={"roster": sentence}, status_code=422
        )
    except DomainError as failure:
        return _request_page(
            request,
            schemes,
            chosen=chosen,
            error=error_sentence(failure, language),
            status_code=422,
        )
    # Quota left has changed: the scheme list is read again for the form below the outcomes.
    schemes = await run_in_threadpool(open_schemes, ctx, hr)
    return _request_page(request, schemes, chosen=chosen, report=report)


@router.get("/" + TEMPLATE_NAME)
def template_download(hr: HumanResources) -> Response:
    return Response(
        roster_template(),
        media_type=XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{TEMPLATE_NAME}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/training")
def training(
    request: Request,
    ctx: Context,
    hr: HumanResources,
    status: str = "",
    cursor: str | None = None,
) -> Response:
    chosen = VoucherStatus(status) if status in set(VoucherStatus) else None
    page = employees_training(ctx, hr, status=chosen, cursor=cursor, limit=TRAINING_PAGE)
    return render(
        request,
        "enterprise/training.html",
        {
            "page": page,
            "status": chosen.value if chosen else "",
            "status_labels": STATUS_LABELS,
        },
    )
