"""Voucher statistics counted again from the vouchers and the ledger themselves: what the
tallies must always equal (``application.tally_checks``), at the cost of reading every voucher."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.ledger import Account
from skillvoucher.domain.schemes import IssuanceMode
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.read_models.statistics import Counts
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Institution, LedgerEntry, Region, Scheme, Voucher


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _paid_by_voucher() -> sa.Subquery:
    return (
        sa.select(LedgerEntry.voucher_id, sa.func.sum(LedgerEntry.amount_fen).label("paid"))
        .where(LedgerEntry.account == Account.PAID, LedgerEntry.voucher_id.is_not(None))
        .group_by(LedgerEntry.voucher_id)
        .subquery()
    )


def _measures(paid: sa.Subquery) -> list[sa.ColumnElement[Any]]:
    # "Used" means enrolled at some point: a voucher revoked during training was still used;
    # a cancelled enrolment clears enrolled_at, so it does not count.
    return [
        sa.func.count(Voucher.id),
        _count_if(Scheme.issuance_mode.in_([IssuanceMode.CLAIM, IssuanceMode.APPLICATION])),
        _count_if(Voucher.enrolled_at.is_not(None)),
        _count_if(Voucher.completed_at.is_not(None)),
        _count_if(Voucher.certificate_no.is_not(None)),
        _count_if(Voucher.status == VoucherStatus.SETTLED),
        _count_if(Voucher.status == VoucherStatus.EXPIRED),
        _count_if(Voucher.status == VoucherStatus.REVOKED),
        sa.func.coalesce(sa.func.sum(Voucher.face_value_fen), 0),
        sa.func.coalesce(sa.func.sum(Voucher.redeemable_fen), 0),
        sa.func.coalesce(sa.func.sum(paid.c.paid), 0),
    ]


def _vouchers(paid: sa.Subquery, scope: Scope | None) -> sa.Select[Any]:
    """The vouchers counted: all, or those of schemes in regions within ``scope``."""
    stmt = (
        sa.select()
        .select_from(Voucher)
        .join(Scheme, Scheme.id == Voucher.scheme_id)
        .outerjoin(paid, paid.c.voucher_id == Voucher.id)
    )
    return stmt if scope is None else within_scope(stmt, scope, region=Voucher.region_code)


def _month_key(session: Session) -> sa.ColumnElement[str]:
    """The issue month in Asia/Shanghai (UTC+8 all year, no daylight saving)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", Voucher.issued_at), "YYYY-MM")
    return sa.func.strftime("%Y-%m", Voucher.issued_at, "+8 hours")


def totals(session: Session, scope: Scope | None = None) -> Counts:
    paid = _paid_by_voucher()
    row = session.execute(_vouchers(paid, scope).add_columns(*_measures(paid))).one()
    return Counts("all", "all", *(int(v) for v in row))


def breakdown(session: Session, dimension: str, scope: Scope | None = None) -> list[Counts]:
    """Counts grouped by region (holder's city), scheme, target_group, institution or month."""
    paid = _paid_by_voucher()
    base = _vouchers(paid, scope)
    key: Any
    label: Any
    if dimension == "region":
        key = label = Voucher.holder_region
        base = base.join(Region, Region.code == Voucher.holder_region)
        label = Region.name
    elif dimension == "scheme":
        key, label = Scheme.code, Scheme.name
    elif dimension == "target_group":
        key = label = sa.func.coalesce(Voucher.target_group, "-")
    elif dimension == "institution":
        base = base.join(Institution, Institution.id == Voucher.institution_id)
        key, label = Institution.credit_code, Institution.name
    elif dimension == "month":
        key = label = _month_key(session)
    else:
        raise ValueError(f"unknown dimension {dimension}")
    stmt = base.add_columns(key, label, *_measures(paid)).group_by(key, label).order_by(key)
    return [
        Counts(str(k), str(lab), *(int(v) for v in rest)) for k, lab, *rest in session.execute(stmt)
    ]
