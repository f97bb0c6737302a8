"""The institution's settlement statements: what was paid, what is pending, and why."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from skillvoucher.api.dependencies import Context
from skillvoucher.application.institution_portal_settlement import Waiting, settlement_overview
from skillvoucher.web.i18n import N_
from skillvoucher.web.routes.institution_frame import Staff
from skillvoucher.web.templating import render

router = APIRouter()

WAITING_MESSAGES = {
    Waiting.APPROVAL: N_("Waiting for the administration's approval"),
    Waiting.SECOND_APPROVAL: N_("Waiting for a second approver (large batch)"),
    Waiting.PUBLICATION: N_("Approved; waiting to be put on public notice"),
    Waiting.NOTICE_PERIOD: N_("On public notice; payable after the notice period"),
    Waiting.PAYMENT: N_("Notice period over; waiting for the treasury's payment"),
    Waiting.SUSPENDED: N_("The institution is suspended: payment waits until it is reinstated"),
    Waiting.ATTENDANCE_BELOW_MINIMUM: N_("Attendance below the scheme's minimum"),
    Waiting.NOT_COMPLETED: N_("The course is not completed yet"),
    Waiting.NO_CERTIFICATE: N_("No skill certificate recorded yet"),
    Waiting.NEXT_SETTLEMENT_RUN: N_("Earned; goes into the next settlement batch"),
}
EVIDENCE_NAMES = {
    "enrolment": N_("Enrolment"),
    "attendance": N_("Attendance"),
    "completion": N_("Completion"),
    "certificate": N_("Certificate"),
}
BATCH_STATUS_NAMES = {
    "draft": N_("Draft"),
    "approved_once": N_("Approved once"),
    "approved": N_("Approved"),
    "published": N_("On public notice"),
    "paid": N_("Paid"),
}


@router.get("/settlement")
def settlement_page(request: Request, ctx: Context, staff: Staff) -> Response:
    return render(
        request,
        "institution/settlement.html",
        {
            "overview": settlement_overview(ctx, staff),
            "waiting_messages": WAITING_MESSAGES,
            "evidence_names": EVIDENCE_NAMES,
            "batch_status_names": BATCH_STATUS_NAMES,
        },
    )
