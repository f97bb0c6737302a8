"""Pages under /worker, phone first: my vouchers with their QR codes, one voucher's big code,
and my notices. Courses and enrolment live in ``worker_courses``, training in
``worker_training``; their routes join this router."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from skillvoucher.api.dependencies import Context
from skillvoucher.application.worker_notices import notices_of
from skillvoucher.application.worker_portal import my_vouchers, voucher_card
from skillvoucher.web.routes import worker_courses, worker_disputes, worker_training
from skillvoucher.web.routes.worker_frame import Worker, worker_page

router = APIRouter(prefix="/worker", include_in_schema=False)


@router.get("")
def home(request: Request, ctx: Context, worker: Worker) -> Response:
    return worker_page(
        request, ctx, worker, "worker/home.html", {"vouchers": my_vouchers(ctx, worker)}
    )


@router.get("/vouchers/{voucher_id:uuid}")
def voucher(request: Request, ctx: Context, worker: Worker, voucher_id: uuid.UUID) -> Response:
    return worker_page(
        request, ctx, worker, "worker/voucher.html", {"card": voucher_card(ctx, worker, voucher_id)}
    )


@router.get("/notices")
def notices(request: Request, ctx: Context, worker: Worker) -> Response:
    return worker_page(
        request, ctx, worker, "worker/notices.html", {"notices": notices_of(ctx, worker)}
    )


router.include_router(worker_courses.router)
router.include_router(worker_training.router)
router.include_router(worker_disputes.router)
