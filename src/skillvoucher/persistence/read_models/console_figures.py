"""Figures of the administrator console: schemes by status and one scheme's vouchers by status,
within a principal's region scope."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.schemes import SchemeStatus
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Scheme, Voucher


def scheme_counts(session: Session, scope: Scope) -> dict[SchemeStatus, int]:
    """How many schemes within ``scope`` have each status (zeros included)."""
    # Scoped as a one-column select (within_scope's type), then counted.
    stmt = (
        within_scope(sa.select(Scheme.status), scope, region=Scheme.region_code)
        .add_columns(sa.func.count())
        .group_by(Scheme.status)
    )
    counts = dict.fromkeys(SchemeStatus, 0)
    counts.update({status: int(n) for status, n in session.execute(stmt)})
    return counts


def voucher_counts(session: Session, scheme_id: uuid.UUID) -> dict[VoucherStatus, int]:
    """One scheme's vouchers by status (zeros included). The caller checked the scheme's scope:
    every voucher of a scheme lies in the scheme's region."""
    stmt = (
        sa.select(Voucher.status, sa.func.count())
        .where(Voucher.scheme_id == scheme_id)
        .group_by(Voucher.status)
    )
    counts = dict.fromkeys(VoucherStatus, 0)
    counts.update({status: int(n) for status, n in session.execute(stmt)})
    return counts
