"""Issuance campaigns in the console: each launched scheme's progress (issued against the
quota, vouchers used), refreshed while the page is open, and the push of a push scheme to
everyone eligible, started from the page.

The push is the API's use case, run in the request: it commits chunk by chunk, so the progress
panel, polling on its own, shows the count rising while it runs, and the page ends with the
push's outcome counts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from skillvoucher.api.dependencies import Context
from skillvoucher.application.console_overview import issuance_progress
from skillvoucher.application.issuance import PushResult
from skillvoucher.application.issuance_access import push_for
from skillvoucher.application.scheme_access import list_schemes
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.errors import DomainError, NotFound
from skillvoucher.domain.schemes import SchemeStatus
from skillvoucher.web.forms import error_sentence
from skillvoucher.web.i18n import request_language
from skillvoucher.web.routes.admin_console import CONSOLE
from skillvoucher.web.routes.admin_labels import LABELS
from skillvoucher.web.templating import render

router = APIRouter()

Admin = Annotated[Principal, CONSOLE]
SchemeCode = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")]
Count = Annotated[int | None, Query(ge=0)]
POLL_SECONDS = 3


@router.get("/issuance")
def campaigns(
    request: Request,
    ctx: Context,
    admin: Admin,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Launched schemes (drafts issue nothing yet), with issued against quota."""
    page = list_schemes(ctx, admin, None, cursor, 100)
    launched = [s for s in page.items if s.status is not SchemeStatus.DRAFT]
    return render(
        request,
        "admin/issuance.html",
        {"schemes": launched, "next_cursor": page.next_cursor, "labels": LABELS},
    )


@router.get("/issuance/{code}")
def campaign(
    request: Request,
    ctx: Context,
    admin: Admin,
    code: SchemeCode,
    issued: Count = None,
    eligible_left: Count = None,
    quota_left: Count = None,
) -> Response:
    progress = issuance_progress(ctx, admin, code)
    outcome = (
        PushResult(issued, eligible_left or 0, quota_left or 0) if issued is not None else None
    )
    return render(
        request,
        "admin/issuance_campaign.html",
        {
            "progress": progress,
            "outcome": outcome,
            "error": None,
            "may_push": admin.can(Permission.VOUCHER_ISSUE),
            "poll_seconds": POLL_SECONDS,
            "labels": LABELS,
        },
    )


@router.get("/issuance/{code}/progress")
def campaign_progress(request: Request, ctx: Context, admin: Admin, code: SchemeCode) -> Response:
    """The progress panel alone, for the page's polling."""
    progress = issuance_progress(ctx, admin, code)
    return render(
        request,
        "admin/issuance_progress.html",
        {"progress": progress, "poll_seconds": POLL_SECONDS, "labels": LABELS},
    )


@router.post("/issuance/{code}/push")
def push(request: Request, ctx: Context, admin: Admin, code: SchemeCode) -> Response:
    """Issue to everyone eligible now; with htmx the outcome replaces the push form, without
    it the campaign page shows the outcome after a redirect. (A plain ``def``: FastAPI runs it
    in its thread pool, as the push's chunks take a while.)"""
    admin.require(Permission.VOUCHER_ISSUE)
    htmx = request.headers.get("HX-Request") == "true"
    try:
        result = push_for(ctx.acting_as(admin.label), admin, code)
    except NotFound:
        raise
    except DomainError as failure:
        error = error_sentence(failure, request_language(request))
        if htmx:
            return render(request, "admin/issuance_outcome.html", {"outcome": None, "error": error})
        progress = issuance_progress(ctx, admin, code)
        return render(
            request,
            "admin/issuance_campaign.html",
            {
                "progress": progress,
                "outcome": None,
                "error": error,
                "may_push": True,
                "poll_seconds": POLL_SECONDS,
                "labels": LABELS,
            },
            status_code=409,
        )
    if htmx:
        return render(request, "admin/issuance_outcome.html", {"outcome": result, "error": None})
    counts = (
        f"issued={result.issued}&eligible_left={result.eligible_left}"
        f"&quota_left={result.quota_left}"
    )
    return RedirectResponse(f"/admin/issuance/{code}?{counts}", status_code=303)
