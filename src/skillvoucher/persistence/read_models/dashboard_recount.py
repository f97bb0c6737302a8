"""The dashboard's figures counted again from the vouchers and the ledger themselves: what the
tallies behind ``read_models.dashboard`` must always equal (``application.tally_checks``), at the
cost of reading every voucher.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.ledger import Account
from skillvoucher.domain.timekeeping import SHANGHAI
from skillvoucher.persistence.read_models.dashboard import (
    Figures,
    MonthFigures,
    Slice,
    region_names,
)
from skillvoucher.persistence.tables import Institution, LedgerEntry, Scheme, Voucher


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _sum(column: Any) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(column), 0)


_MONEY_ACCOUNTS = (Account.PAYABLE, Account.PAID)


def _money_by_voucher() -> sa.Subquery:
    # A payment moves money from payable to paid inside one journal, so payable + paid is
    # what was settled, whatever has been paid of it since.
    return (
        sa.select(
            LedgerEntry.voucher_id,
            sa.func.sum(LedgerEntry.amount_fen).label("settled"),
            _sum(
                sa.case((LedgerEntry.account == Account.PAID, LedgerEntry.amount_fen), else_=0)
            ).label("paid"),
        )
        .where(LedgerEntry.account.in_(_MONEY_ACCOUNTS), LedgerEntry.voucher_id.is_not(None))
        .group_by(LedgerEntry.voucher_id)
        .subquery()
    )


def _measures(money: sa.Subquery) -> list[sa.ColumnElement[Any]]:
    return [
        sa.func.count(Voucher.id),
        _count_if(Voucher.enrolled_at.is_not(None)),
        _count_if(Voucher.completed_at.is_not(None)),
        _count_if(Voucher.certificate_no.is_not(None)),
        _sum(Voucher.face_value_fen),
        _sum(Voucher.redeemable_fen),
        _sum(money.c.settled),
        _sum(money.c.paid),
    ]


def _narrowed(stmt: sa.Select[Any], part: Slice) -> sa.Select[Any]:
    if part.region_prefix:
        stmt = stmt.where(Voucher.region_code.startswith(part.region_prefix, autoescape=True))
    if part.scheme_code is not None:
        stmt = stmt.where(Scheme.code == part.scheme_code)
    if part.issue_year is not None:
        issued_from = datetime(part.issue_year, 1, 1, tzinfo=SHANGHAI)
        issued_before = datetime(part.issue_year + 1, 1, 1, tzinfo=SHANGHAI)
        stmt = stmt.where(Voucher.issued_at >= issued_from, Voucher.issued_at < issued_before)
    return stmt


def _vouchers(part: Slice, money: sa.Subquery | None = None) -> sa.Select[Any]:
    stmt = sa.select().select_from(Voucher).join(Scheme, Scheme.id == Voucher.scheme_id)
    if money is not None:
        stmt = stmt.outerjoin(money, money.c.voucher_id == Voucher.id)
    return _narrowed(stmt, part)


def _figures(key: object, label: object, values: Any) -> Figures:
    """A row of ``_measures`` (in their order) as Figures."""
    issued, used, completed, certified, face, used_value, settled, paid = (int(v) for v in values)
    return Figures(
        str(key), str(label), issued, used, completed, certified, face, used_value, settled, paid
    )


def overall(session: Session, part: Slice) -> Figures:
    money = _money_by_voucher()
    row = session.execute(_vouchers(part, money).add_columns(*_measures(money))).one()
    return _figures("all", "all", row)


def region_key(digits: int) -> sa.ColumnElement[str]:
    """The holder's home region rolled up to its province (2), city (4) or county (6)."""
    if digits >= 6:
        return Voucher.holder_region.expression
    return sa.func.substr(Voucher.holder_region, 1, digits).concat("0" * (6 - digits))


def by_region(session: Session, part: Slice, digits: int) -> list[Figures]:
    """Figures per home region of the holders, at the level ``digits`` names (2, 4 or 6)."""
    money = _money_by_voucher()
    key = region_key(digits).label("key")
    stmt = _vouchers(part, money).add_columns(key, *_measures(money)).group_by(key).order_by(key)
    rows = session.execute(stmt).all()
    names = region_names(session, [str(row[0]) for row in rows])
    figures = []
    for code, *values in rows:
        name, name_en = names.get(code, (code, code))
        figures.append(replace(_figures(code, name, values), label_en=name_en))
    return figures


def by_scheme(session: Session, part: Slice) -> list[Figures]:
    money = _money_by_voucher()
    stmt = (
        _vouchers(part, money)
        .add_columns(Scheme.code, Scheme.name, *_measures(money))
        .group_by(Scheme.code, Scheme.name)
        .order_by(Scheme.code)
    )
    return [_figures(code, name, values) for code, name, *values in session.execute(stmt)]


def by_target_group(session: Session, part: Slice) -> list[Figures]:
    money = _money_by_voucher()
    key = sa.func.coalesce(Voucher.target_group, "-").label("key")
    stmt = _vouchers(part, money).add_columns(key, *_measures(money)).group_by(key).order_by(key)
    return [_figures(group, group, values) for group, *values in session.execute(stmt)]


def by_institution(session: Session, part: Slice, top: int) -> list[Figures]:
    """The ``top`` institutions by vouchers used (then completed), of those that enrolled any."""
    money = _money_by_voucher()
    measures = _measures(money)
    stmt = (
        _vouchers(part, money)
        .join(Institution, Institution.id == Voucher.institution_id)
        .add_columns(Institution.credit_code, Institution.name, *measures)
        .group_by(Institution.credit_code, Institution.name)
        .order_by(measures[1].desc(), measures[2].desc(), Institution.credit_code)
        .limit(top)
    )
    return [_figures(code, name, values) for code, name, *values in session.execute(stmt)]


def local_month(session: Session, column: Any) -> sa.ColumnElement[str]:
    """The month of a UTC moment in Asia/Shanghai (UTC+8 all year, no daylight saving)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, "+8 hours")


# Each monthly count: the event's moment, and what marks that it happened.
_EVENTS = {
    "issued": (Voucher.issued_at, Voucher.issued_at.is_not(None)),
    "used": (Voucher.enrolled_at, Voucher.enrolled_at.is_not(None)),
    "completed": (Voucher.completed_at, Voucher.completed_at.is_not(None)),
    "certified": (
        sa.func.coalesce(Voucher.certified_at, Voucher.completed_at),
        Voucher.certificate_no.is_not(None),
    ),
}


def monthly(session: Session, part: Slice) -> list[MonthFigures]:
    """Per month, in order: each event counted in the month it happened to the sliced vouchers,
    so every series adds up to the slice's total."""
    months: dict[str, dict[str, int]] = {}
    for name, (moment, happened) in _EVENTS.items():
        month = local_month(session, moment).label("month")
        stmt = (
            _vouchers(part)
            .add_columns(month, sa.func.count(Voucher.id))
            .where(happened)
            .group_by(month)
        )
        for key, count in session.execute(stmt):
            months.setdefault(str(key), {})[name] = int(count)
    entry_month = local_month(session, LedgerEntry.created_at).label("month")
    money = _narrowed(
        sa.select(
            entry_month,
            sa.func.sum(LedgerEntry.amount_fen),
            _sum(sa.case((LedgerEntry.account == Account.PAID, LedgerEntry.amount_fen), else_=0)),
        )
        .select_from(LedgerEntry)
        .join(Voucher, Voucher.id == LedgerEntry.voucher_id)
        .join(Scheme, Scheme.id == Voucher.scheme_id)
        .where(LedgerEntry.account.in_(_MONEY_ACCOUNTS))
        .group_by(entry_month),
        part,
    )
    for key, settled, paid in session.execute(money):
        values = months.setdefault(str(key), {})
        values.update(settled_fen=int(settled), paid_fen=int(paid))
    # A month whose postings cancel out (a payable reversed) has nothing to show.
    return [
        MonthFigures(month, **values)
        for month, values in sorted(months.items())
        if any(values.values())
    ]
