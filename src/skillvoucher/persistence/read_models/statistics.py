"""Voucher statistics straight from the tables (exact figures; issue 5 adds aggregates at size)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.schemes import IssuanceMode
from skillvoucher.domain.vouchers import USED_STATUSES, VoucherStatus
from skillvoucher.persistence.tables import Institution, Region, Scheme, Voucher


@dataclass(frozen=True)
class Counts:
    key: str
    label: str
    issued: int
    claimed: int
    used: int
    completed: int
    certified: int
    settled: int
    expired: int
    revoked: int
    face_value_fen: int


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _measures() -> list[sa.ColumnElement[Any]]:
    done = [VoucherStatus.COMPLETED, VoucherStatus.SETTLED]
    return [
        sa.func.count(Voucher.id),
        _count_if(Scheme.issuance_mode.in_([IssuanceMode.CLAIM, IssuanceMode.APPLICATION])),
        _count_if(Voucher.status.in_(USED_STATUSES)),
        _count_if(Voucher.status.in_(done)),
        _count_if(Voucher.certificate_no.is_not(None)),
        _count_if(Voucher.status == VoucherStatus.SETTLED),
        _count_if(Voucher.status == VoucherStatus.EXPIRED),
        _count_if(Voucher.status == VoucherStatus.REVOKED),
        sa.func.coalesce(sa.func.sum(Voucher.face_value_fen), 0),
    ]


def _month_key(session: Session) -> sa.ColumnElement[str]:
    """The issue month in Asia/Shanghai (UTC+8 all year, no daylight saving)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", Voucher.issued_at), "YYYY-MM")
    return sa.func.strftime("%Y-%m", Voucher.issued_at, "+8 hours")


def totals(session: Session) -> Counts:
    row = session.execute(
        sa.select(*_measures()).select_from(Voucher).join(Scheme, Scheme.id == Voucher.scheme_id)
    ).one()
    return Counts("all", "all", *(int(v) for v in row))


def breakdown(session: Session, dimension: str) -> list[Counts]:
    """Counts grouped by region (holder's city), scheme, target_group, institution or month."""
    base = sa.select().select_from(Voucher).join(Scheme, Scheme.id == Voucher.scheme_id)
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
    stmt = base.add_columns(key, label, *_measures()).group_by(key, label).order_by(key)
    return [
        Counts(str(k), str(lab), *(int(v) for v in rest)) for k, lab, *rest in session.execute(stmt)
    ]


DIMENSIONS = ("region", "scheme", "target_group", "institution", "month")
