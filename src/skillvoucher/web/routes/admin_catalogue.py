"""The administrator console, first half: the overview, schemes (editor with a live preview,
launch), institution approval and issuance campaigns. Funds, settlement, flags and the audit
trail are in ``admin_oversight``. Every page asks the same application functions the API does,
with the signed-in administrator as the principal, so region scope applies everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from skillvoucher.api.dependencies import Context
from skillvoucher.application.console_overview import console_overview
from skillvoucher.domain.access import Principal
from skillvoucher.web.routes import admin_institutions, admin_issuance, admin_schemes
from skillvoucher.web.routes.admin_console import CONSOLE
from skillvoucher.web.routes.admin_labels import LABELS
from skillvoucher.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def overview(request: Request, ctx: Context, admin: Annotated[Principal, CONSOLE]) -> Response:
    figures = console_overview(ctx, admin)
    return render(request, "admin/home.html", {"figures": figures, "labels": LABELS})


router.include_router(admin_schemes.router)
router.include_router(admin_institutions.router)
router.include_router(admin_issuance.router)
