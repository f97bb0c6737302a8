"""Searching the audit trail: by actor, event kind, entity and days, paged, newest first.
A GET form, so a search can be bookmarked; an ID number is refused as a search term, so none
ever sits in a URL (entities are named by their internal ids)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from skillvoucher.api.dependencies import Context
from skillvoucher.api.problems import status_of
from skillvoucher.application.audit_views import AuditQuery, audit_events_for
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import DomainError
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import request_language
from skillvoucher.web.routes.admin_oversight_forms import day_range, not_an_id_number, with_query
from skillvoucher.web.session import with_permission
from skillvoucher.web.templating import render

router = APIRouter()

AuditReader = Annotated[Principal, with_permission(P.AUDIT_READ)]
AUDIT_PAGE = 50
SearchTerm = Annotated[str, BeforeValidator(not_an_id_number)]

# Suggestions for the event-kind box (any recorded action may be typed).
COMMON_ACTIONS = (
    "fund.deposited",
    "fund.transfer_requested",
    "fund.transfer_approved",
    "fund.transfer_executed",
    "fund.transfer_rejected",
    "scheme.created",
    "scheme.launched",
    "voucher.issued",
    "vouchers.pushed",  # one event per chunk of a push issuance
    "voucher.enrolled",
    "voucher.attended",
    "attendance.refused",
    "voucher.completed",
    "voucher.revoked",
    "vouchers.expired",  # one event per chunk of the year-end expiry
    "voucher.clawed_back",
    "settlement.batch_built",
    "settlement.batch_approved_once",
    "settlement.batch_approved",
    "settlement.batch_published",
    "settlement.payment_file_exported",
    "settlement.batch_paid",
    "institution.suspended",
    "institution.reinstated",
    "account.signed_in",
)
ENTITY_TYPES = (
    "fund_account",
    "fund_transfer",
    "scheme",
    "voucher",
    "enrolment",
    "institution",
    "settlement_batch",
    "person",
    "staff_account",
    "api_key",
    "import",
)


class AuditSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    actor: SearchTerm | None = Field(default=None, max_length=80)
    action: SearchTerm | None = Field(default=None, max_length=60)
    entity_type: SearchTerm | None = Field(default=None, max_length=30)
    entity_id: SearchTerm | None = Field(default=None, max_length=40)
    from_day: date | None = None
    to_day: date | None = None
    cursor: str | None = Field(default=None, max_length=64)


@router.get("/audit")
def audit_page(request: Request, ctx: Context, visitor: AuditReader) -> Response:
    language = request_language(request)
    values = dict(request.query_params)
    errors: dict[str, str] = {}
    error = None
    events: list[Any] = []
    next_link = None
    status_code = 200
    try:
        search = parse_form(AuditSearch, request.query_params, language)
        since, until = day_range(search.from_day, search.to_day)
        query = AuditQuery(
            search.entity_type, search.entity_id, search.action, search.actor, since, until
        )
        page = audit_events_for(ctx, visitor, query, search.cursor, AUDIT_PAGE)
        events = page.items
        if page.next_cursor:
            kept = {k: values.get(k) for k in AuditSearch.model_fields if k != "cursor"}
            next_link = with_query(request.url.path, **kept, cursor=page.next_cursor)
    except FormInvalid as invalid:
        errors, status_code = invalid.errors, 422
        # A refused term is not shown back: it may be an ID number.
        values = {k: v for k, v in values.items() if k not in errors}
    except DomainError as failure:
        error, status_code = error_sentence(failure, language), status_of(failure)
    return render(
        request,
        "admin/audit.html",
        {
            "events": events,
            "values": values,
            "errors": errors,
            "error": error,
            "next_link": next_link,
            "actions": COMMON_ACTIONS,
            "entity_types": ENTITY_TYPES,
        },
        status_code=status_code,
    )
