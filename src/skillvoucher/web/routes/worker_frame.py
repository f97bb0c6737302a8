"""What every worker page shares: who may open it (workers alone), the words for statuses and
levels, and the frame with the notices badge in the navigation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from skillvoucher.api.dependencies import Context
from skillvoucher.application.context import AppContext
from skillvoucher.application.worker_notices import notices_of, recent_count
from skillvoucher.domain.access import Principal, Role
from skillvoucher.web.i18n import N_
from skillvoucher.web.session import for_roles
from skillvoucher.web.templating import render

Worker = Annotated[Principal, for_roles(Role.WORKER)]

VOUCHER_STATUS = {
    "issued": N_("Ready to use"),
    "enrolled": N_("Enrolled, not started"),
    "in_training": N_("In training"),
    "completed": N_("Training completed"),
    "settled": N_("Settled"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
}
STATUS_BADGE = {"issued": "ok", "expired": "danger", "revoked": "danger", "settled": ""}
SKILL_LEVEL = {
    "5": N_("Level 5 (junior)"),
    "4": N_("Level 4 (intermediate)"),
    "3": N_("Level 3 (senior)"),
    "2": N_("Level 2 (technician)"),
    "1": N_("Level 1 (senior technician)"),
    "special": N_("Special vocational ability"),
    "completion": N_("Training completion"),
}
COURSE_MODE = {"online": N_("Online"), "offline": N_("In person")}


def acting(ctx: AppContext, worker: Principal) -> AppContext:
    """The context that names the worker in the audit trail."""
    return ctx.acting_as(worker.label)


def worker_page(
    request: Request,
    ctx: Context,
    worker: Principal,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` in the worker's frame: the nav's badge counts this week's notices."""
    notices = notices_of(ctx, worker)
    return render(
        request,
        template,
        {
            "notice_count": recent_count(ctx, notices),
            "voucher_status": VOUCHER_STATUS,
            "status_badge": STATUS_BADGE,
            "skill_level": SKILL_LEVEL,
            "course_mode": COURSE_MODE,
            **(values or {}),
        },
        status_code=status_code,
    )
