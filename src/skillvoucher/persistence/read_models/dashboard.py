"""The statistics dashboard's figures, read from the tallies (``persistence.tally_sql``): the
same measures as ``read_models.statistics`` (a voucher is "used" once enrolled, "certified" once
it carries a certificate number), for a slice of the vouchers (a region, a scheme, an issue
year), by dimension and per month of each event.

"Settled" is what settlement moved into the payable and paid buckets (net of claw-backs), "paid"
what reached the paid bucket. ``dashboard_recount`` computes every figure again from the
vouchers and the ledger, for the checks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.persistence.read_models.statistics import sum_of
from skillvoucher.persistence.tables import Institution, Region, Scheme, VoucherTally


@dataclass(frozen=True)
class Slice:
    """Which vouchers are counted: those of schemes in regions starting with ``region_prefix``
    ("" for the whole country), of one scheme, issued in one year (Asia/Shanghai)."""

    region_prefix: str = ""
    scheme_code: str | None = None
    issue_year: int | None = None


@dataclass(frozen=True)
class Figures:
    key: str
    label: str
    issued: int
    used: int
    completed: int
    certified: int
    face_value_fen: int
    used_value_fen: int
    settled_fen: int
    paid_fen: int
    label_en: str = ""


@dataclass(frozen=True)
class MonthFigures:
    """Events of one month (Asia/Shanghai): vouchers issued, enrolled, completed and certified
    in it, and the amounts settled and paid in it."""

    month: str
    issued: int = 0
    used: int = 0
    completed: int = 0
    certified: int = 0
    settled_fen: int = 0
    paid_fen: int = 0


T = VoucherTally


def _measures() -> list[sa.ColumnElement[Any]]:
    return [
        sum_of(T.issued),
        sum_of(T.used),
        sum_of(T.completed),
        sum_of(T.certified),
        sum_of(T.face_value_fen),
        sum_of(T.redeemable_fen),
        sum_of(T.settled_fen),
        sum_of(T.paid_fen),
    ]


def _tallies(part: Slice, *dimensions: str) -> sa.Select[Any]:
    stmt = sa.select().select_from(T).where(T.dimension.in_(dimensions))
    if part.scheme_code is not None:
        stmt = stmt.join(Scheme, Scheme.id == T.scheme_id).where(Scheme.code == part.scheme_code)
    if part.region_prefix:
        stmt = stmt.where(T.region_code.startswith(part.region_prefix, autoescape=True))
    if part.issue_year is not None:
        # "YYYY-MM" on scheme rows, "YYYY" on the others: the year leads both.
        stmt = stmt.where(T.issued_in.startswith(str(part.issue_year)))
    return stmt


def _figures(key: object, label: object, values: Any) -> Figures:
    """A row of ``_measures`` (in their order) as Figures."""
    issued, used, completed, certified, face, used_value, settled, paid = (int(v) for v in values)
    return Figures(
        str(key), str(label), issued, used, completed, certified, face, used_value, settled, paid
    )


def _grouped(part: Slice, dimension: str, key: Any, label: Any) -> sa.Select[Any]:
    measures = _measures()
    return (
        _tallies(part, dimension)
        .add_columns(key, label, *measures)
        .group_by(key, label)
        # A key whose vouchers all moved elsewhere (an enrolment cancelled) counts nothing.
        .having(measures[0] != 0)
    )


def overall(session: Session, part: Slice) -> Figures:
    row = session.execute(_tallies(part, "scheme").add_columns(*_measures())).one()
    return _figures("all", "all", row)


def region_key(digits: int) -> sa.ColumnElement[str]:
    """The holder's home region rolled up to its province (2), city (4) or county (6)."""
    if digits >= 6:
        return sa.func.coalesce(T.holder_region, "")
    return sa.func.substr(T.holder_region, 1, digits).concat("0" * (6 - digits))


def by_region(session: Session, part: Slice, digits: int) -> list[Figures]:
    """Figures per home region of the holders, at the level ``digits`` names (2, 4 or 6)."""
    key = region_key(digits).label("key")
    stmt = _grouped(part, "holder_region", key, sa.literal("")).order_by(key)
    rows = session.execute(stmt).all()
    names = region_names(session, [str(row[0]) for row in rows])
    figures = []
    for code, _, *values in rows:
        name, name_en = names.get(code, (code, code))
        figures.append(replace(_figures(code, name, values), label_en=name_en))
    return figures


def by_scheme(session: Session, part: Slice) -> list[Figures]:
    stmt = _grouped(part, "scheme", Scheme.code, Scheme.name).order_by(Scheme.code)
    if part.scheme_code is None:  # otherwise _tallies has joined the schemes already
        stmt = stmt.join(Scheme, Scheme.id == T.scheme_id)
    return [_figures(code, name, values) for code, name, *values in session.execute(stmt)]


def by_target_group(session: Session, part: Slice) -> list[Figures]:
    stmt = _grouped(part, "target_group", T.target_group, T.target_group).order_by(T.target_group)
    return [_figures(group, group, values) for group, _, *values in session.execute(stmt)]


def by_institution(session: Session, part: Slice, top: int) -> list[Figures]:
    """The ``top`` institutions by vouchers used (then completed), of those that enrolled any."""
    stmt = (
        _grouped(part, "institution", Institution.credit_code, Institution.name)
        .join(Institution, Institution.id == T.institution_id)
        .order_by(sum_of(T.used).desc(), sum_of(T.completed).desc(), Institution.credit_code)
        .limit(top)
    )
    return [_figures(code, name, values) for code, name, *values in session.execute(stmt)]


def monthly(session: Session, part: Slice) -> list[MonthFigures]:
    """Per month, in order: each event counted in the month it happened to the sliced vouchers,
    so every series adds up to the slice's total."""
    months: dict[str, dict[str, int]] = {}
    issued = _tallies(part, "scheme").add_columns(T.issued_in, sum_of(T.issued))
    for month, count in session.execute(issued.group_by(T.issued_in)):
        if count:
            months.setdefault(str(month), {})["issued"] = int(count)
    events = (
        _tallies(part, "used_month", "completed_month", "certified_month", "money_month")
        .add_columns(
            T.event_month,
            sum_of(T.used),
            sum_of(T.completed),
            sum_of(T.certified),
            sum_of(T.settled_fen),
            sum_of(T.paid_fen),
        )
        .group_by(T.event_month)
    )
    for month, used, completed, certified, settled, paid in session.execute(events):
        values = {
            "used": int(used),
            "completed": int(completed),
            "certified": int(certified),
            "settled_fen": int(settled),
            "paid_fen": int(paid),
        }
        happened = {name: value for name, value in values.items() if value}
        if happened:
            months.setdefault(str(month), {}).update(happened)
    return [MonthFigures(month, **values) for month, values in sorted(months.items())]


def issue_months(session: Session, region_prefix: str) -> list[str]:
    """The months (YYYY-MM) in which vouchers of the region were issued."""
    stmt = (
        _tallies(Slice(region_prefix), "scheme")
        .add_columns(T.issued_in)
        .group_by(T.issued_in)
        .having(sum_of(T.issued) != 0)
        .order_by(T.issued_in)
    )
    return [str(m) for (m,) in session.execute(stmt)]


def schemes_within(session: Session, region_prefix: str) -> list[tuple[str, str]]:
    """(code, name) of the schemes of regions starting with ``region_prefix``."""
    stmt = sa.select(Scheme.code, Scheme.name).order_by(Scheme.code)
    if region_prefix:
        stmt = stmt.where(Scheme.region_code.startswith(region_prefix, autoescape=True))
    return [(code, name) for code, name in session.execute(stmt)]


def scheme_regions_within(session: Session, region_prefix: str) -> list[str]:
    """The region codes of the schemes within ``region_prefix``."""
    stmt = sa.select(Scheme.region_code).distinct()
    if region_prefix:
        stmt = stmt.where(Scheme.region_code.startswith(region_prefix, autoescape=True))
    return sorted(code for (code,) in session.execute(stmt))


def region_names(session: Session, codes: list[str]) -> dict[str, tuple[str, str]]:
    """Chinese and English names of ``codes``."""
    stmt = sa.select(Region.code, Region.name, Region.name_en).where(Region.code.in_(codes))
    return {code: (name, name_en) for code, name, name_en in session.execute(stmt)}
