"""Schemes in the console: the list within the administrator's region, the editor (a form with
a live preview of who qualifies and what budget it needs), the scheme's page and its launch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from skillvoucher.api.dependencies import Context
from skillvoucher.application.console_overview import fund_available_fen, issuance_progress
from skillvoucher.application.scheme_access import (
    change_scheme_status,
    create_scheme,
    list_schemes,
    preview_scheme,
    show_scheme,
)
from skillvoucher.application.scheme_drafts import update_draft
from skillvoucher.domain.access import AccessDenied, Permission, Principal
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.errors import AlreadyExists, DomainError, NotFound
from skillvoucher.domain.people import TargetGroup
from skillvoucher.domain.schemes import IssuanceMode, SchemeStatus, SchemeType
from skillvoucher.domain.settlement import Evidence
from skillvoucher.web.forms import FormInvalid, error_sentence
from skillvoucher.web.i18n import N_, request_language, translate
from skillvoucher.web.routes.admin_console import CONSOLE, regions_in_scope
from skillvoucher.web.routes.admin_labels import LABELS
from skillvoucher.web.routes.admin_scheme_form import (
    LEVEL_FIELDS,
    STAGE_FIELDS,
    form_values,
    scheme_from_form,
    values_of_document,
)
from skillvoucher.web.templating import render

router = APIRouter()

Admin = Annotated[Principal, CONSOLE]
SchemeCode = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")]

# A new scheme starts from the usual shape: settlement in two stages, a year's validity.
NEW_SCHEME = {
    "type": SchemeType.INDIVIDUAL.value,
    "issuance": IssuanceMode.PUSH.value,
    "one_active_voucher": True,
    "once_per_occupation_level": True,
    "validity_days": "365",
    "stage_enrolment": "30",
    "stage_certificate": "70",
    "min_attendance_percent": "80",
}
MOVES = {
    "launch": (SchemeStatus.ACTIVE, N_("The scheme is active: its budget is allocated.")),
    "pause": (SchemeStatus.PAUSED, N_("The scheme is paused.")),
    "close": (SchemeStatus.CLOSED, N_("The scheme is closed.")),
}
SAVED = N_("The scheme is saved as a draft. Check its figures, then launch it.")
CHANGED = N_("The draft is changed.")
TAKEN = N_("A scheme with this code exists already.")
OUTSIDE = N_("This region is outside your own.")


def _editor_choices() -> dict[str, Any]:
    return {
        "target_group_options": list(TargetGroup),
        "level_options": list(SkillLevel),
        "mode_options": list(CourseMode),
        "type_options": list(SchemeType),
        "issuance_options": list(IssuanceMode),
        "stage_fields": STAGE_FIELDS,
        "level_fields": LEVEL_FIELDS,
        "evidence_options": list(Evidence),
    }


@router.get("/schemes")
def scheme_list(
    request: Request,
    ctx: Context,
    admin: Admin,
    status: SchemeStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    page = list_schemes(ctx, admin, status, cursor, 50)
    return render(
        request,
        "admin/schemes.html",
        {"page": page, "status": status, "labels": LABELS, "statuses": list(SchemeStatus)},
    )


def _editor(
    request: Request,
    ctx: Context,
    admin: Principal,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
    editing: str | None = None,
) -> Response:
    """The editor, for a new scheme or (``editing``) a saved draft."""
    return render(
        request,
        "admin/schemes_editor.html",
        {
            "editing": editing,
            "values": values,
            "errors": errors or {},
            "error": error,
            "regions": regions_in_scope(ctx, admin),
            "labels": LABELS,
            **_editor_choices(),
        },
        status_code=status_code,
    )


@router.get("/schemes/new")
def new_scheme(request: Request, ctx: Context, admin: Admin) -> Response:
    admin.require(Permission.SCHEME_MANAGE)
    region = admin.scope.region_prefix.ljust(6, "0") if admin.scope.region_prefix else ""
    return _editor(request, ctx, admin, {**NEW_SCHEME, "region": region})


@router.post("/schemes/preview")
async def preview(request: Request, ctx: Context, admin: Admin) -> Response:
    """The editor's live preview (an htmx fragment): how many registered people qualify today
    and the budget that takes, next to the budget asked and what the fund holds."""
    admin.require(Permission.SCHEME_MANAGE)
    values = form_values(await request.form())
    return await run_in_threadpool(_preview, request, ctx, admin, values)


def _preview(request: Request, ctx: Context, admin: Principal, values: dict[str, Any]) -> Response:
    language = request_language(request)
    context: dict[str, Any] = {"preview": None, "problems": 0, "error": None}
    try:
        doc = scheme_from_form(values, language)
        found = preview_scheme(ctx, admin, doc)
    except FormInvalid as invalid:
        context["problems"] = len(invalid.errors)
    except DomainError as failure:
        context["error"] = error_sentence(failure, language)
    else:
        rules = doc.to_rules()
        context["preview"] = found
        context["quota_cost_fen"] = rules.quota * rules.face_value.max_fen
        context["fund_available_fen"] = fund_available_fen(ctx, admin, rules.region_code)
    return render(request, "admin/schemes_preview.html", context)


@router.post("/schemes")
async def save_scheme(request: Request, ctx: Context, admin: Admin) -> Response:
    admin.require(Permission.SCHEME_MANAGE)
    values = form_values(await request.form())
    return await run_in_threadpool(_save, request, ctx, admin, values, None)


def _save(
    request: Request,
    ctx: Context,
    admin: Principal,
    values: dict[str, Any],
    editing: str | None,
) -> Response:
    """Save a new draft, or change the draft ``editing``; the editor again with every problem
    at its field, or on to the scheme's page."""
    if editing is not None:
        show_scheme(ctx, admin, editing)  # outside the region: 404, as for a missing one
    language = request_language(request)

    def again(status_code: int, **problems: Any) -> Response:
        return _editor(
            request, ctx, admin, values, status_code=status_code, editing=editing, **problems
        )

    try:
        doc = scheme_from_form(values, language)
        if editing is None:
            create_scheme(ctx, admin, doc, launch=False)
        else:
            update_draft(ctx, admin, editing, doc)
    except FormInvalid as invalid:
        return again(422, errors=invalid.errors)
    except AlreadyExists:
        return again(409, errors={"code": translate(language, TAKEN)})
    except AccessDenied:
        # The region, or a household region, lies outside the administrator's own.
        field = "household_regions" if admin.scope.covers_region(doc.region) else "region"
        return again(422, errors={field: translate(language, OUTSIDE)})
    except DomainError as failure:
        return again(409, error=error_sentence(failure, language))
    done = "saved" if editing is None else "changed"
    return RedirectResponse(f"/admin/schemes/{doc.code}?done={done}", status_code=303)


def _scheme_page(
    request: Request,
    ctx: Context,
    admin: Principal,
    code: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    scheme = show_scheme(ctx, admin, code)
    progress = issuance_progress(ctx, admin, code)
    return render(
        request,
        "admin/schemes_detail.html",
        {
            "scheme": scheme,
            "doc": scheme.document,
            "progress": progress,
            "fund_available_fen": fund_available_fen(ctx, admin, scheme.region_code),
            "notice": notice,
            "error": error,
            "labels": LABELS,
        },
        status_code=status_code,
    )


@router.get("/schemes/{code}")
def scheme_page(
    request: Request, ctx: Context, admin: Admin, code: SchemeCode, done: str | None = None
) -> Response:
    notices = {
        "saved": SAVED,
        "changed": CHANGED,
        **{move: text for move, (_, text) in MOVES.items()},
    }
    notice = notices.get(done or "")
    language = request_language(request)
    return _scheme_page(
        request, ctx, admin, code, notice=translate(language, notice) if notice else None
    )


@router.get("/schemes/{code}/edit")
def edit_draft(request: Request, ctx: Context, admin: Admin, code: SchemeCode) -> Response:
    admin.require(Permission.SCHEME_MANAGE)
    scheme = show_scheme(ctx, admin, code)
    if scheme.status is not SchemeStatus.DRAFT:
        return RedirectResponse(f"/admin/schemes/{code}", status_code=303)
    values = values_of_document(scheme.document)
    return _editor(request, ctx, admin, values, editing=code)


@router.post("/schemes/{code}/edit")
async def save_draft(request: Request, ctx: Context, admin: Admin, code: SchemeCode) -> Response:
    admin.require(Permission.SCHEME_MANAGE)
    values = {**form_values(await request.form()), "code": code}  # a saved scheme keeps it
    return await run_in_threadpool(_save, request, ctx, admin, values, code)


@router.post("/schemes/{code}/{move}")
def move_scheme(
    request: Request, ctx: Context, admin: Admin, code: SchemeCode, move: str
) -> Response:
    """Launch (or resume), pause or close; a refusal (not enough money in the fund, say) is
    shown on the scheme's page."""
    if move not in MOVES:
        raise NotFound(f"no such action: {move}")
    admin.require(Permission.SCHEME_MANAGE)
    try:
        change_scheme_status(ctx, admin, code, MOVES[move][0])
    except NotFound:
        raise
    except DomainError as failure:
        sentence = error_sentence(failure, request_language(request))
        return _scheme_page(request, ctx, admin, code, error=sentence, status_code=409)
    return RedirectResponse(f"/admin/schemes/{code}?done={move}", status_code=303)
