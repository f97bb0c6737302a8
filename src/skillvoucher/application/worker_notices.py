"""A holder's notices, derived from the state of their vouchers and enrolments rather than
stored: a voucher issued, a voucher expiring within a week, an enrolment, a voucher settled.
Derived notices cannot drift from the facts they report, and need no table of their own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from skillvoucher.application.context import AppContext
from skillvoucher.application.worker_portal import holder_of
from skillvoucher.domain.access import Principal
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.read_models.worker_portal import held_vouchers, training_of

EXPIRY_WARNING = timedelta(days=7)
# The nav's badge counts the notices of the last week: the ones a holder may not have seen.
RECENT = timedelta(days=7)


class NoticeKind(StrEnum):
    ISSUED = "issued"
    EXPIRING = "expiring"
    ENROLLED = "enrolled"
    SETTLED = "settled"


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    at: datetime
    voucher_id: uuid.UUID
    scheme_name: str
    course_name: str | None = None
    institution_name: str | None = None
    valid_until: datetime | None = None


def notices_of(ctx: AppContext, principal: Principal) -> list[Notice]:
    """The holder's notices, newest first."""
    person_id = holder_of(principal)
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        vouchers = held_vouchers(uow.session, person_id)
        training = training_of(uow.session, person_id)
    schemes = {v.voucher_id: v.scheme_name for v in vouchers}
    found: list[Notice] = []
    for v in vouchers:
        found.append(Notice(NoticeKind.ISSUED, v.issued_at, v.voucher_id, v.scheme_name))
        if v.status is VoucherStatus.ISSUED and now < v.valid_until <= now + EXPIRY_WARNING:
            # Dated when the warning began, so it sorts among the other news of that day.
            warned = max(v.issued_at, v.valid_until - EXPIRY_WARNING)
            found.append(
                Notice(
                    NoticeKind.EXPIRING,
                    warned,
                    v.voucher_id,
                    v.scheme_name,
                    valid_until=v.valid_until,
                )
            )
        if v.status is VoucherStatus.SETTLED and v.closed_at is not None:
            found.append(Notice(NoticeKind.SETTLED, v.closed_at, v.voucher_id, v.scheme_name))
    for row in training:
        found.append(
            Notice(
                NoticeKind.ENROLLED,
                row.enrolled_at,
                row.voucher_id,
                schemes.get(row.voucher_id, ""),
                course_name=row.course_name,
                institution_name=row.institution_name,
            )
        )
    return sorted(found, key=lambda notice: notice.at, reverse=True)


def recent_count(ctx: AppContext, notices: list[Notice]) -> int:
    since = ctx.clock() - RECENT
    return sum(1 for notice in notices if notice.at >= since)
