"""Voucher statistics read from the tallies that triggers keep (``persistence.tally_sql``):
a sum over a few rows per scheme and month, whatever the number of vouchers.

``statistics_recount`` computes the same figures from the vouchers and the ledger themselves;
``application.tally_checks`` compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.domain.schemes import IssuanceMode
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Institution, LedgerTally, Region, Scheme, VoucherTally

DIMENSIONS = ("region", "scheme", "target_group", "institution", "month")


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
    used_value_fen: int  # what the used vouchers pay: min(face value, course price)
    paid_fen: int  # paid to institutions so far


def sum_of(column: Any) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(column), 0)


def _measures() -> list[sa.ColumnElement[Any]]:
    t = VoucherTally
    # Whether vouchers were claimed (or applied for) is the scheme's issuance mode.
    by_request = Scheme.issuance_mode.in_([IssuanceMode.CLAIM, IssuanceMode.APPLICATION])
    return [
        sum_of(t.issued),
        sum_of(sa.case((by_request, t.issued), else_=0)),
        sum_of(t.used),
        sum_of(t.completed),
        sum_of(t.certified),
        sum_of(t.settled),
        sum_of(t.expired),
        sum_of(t.revoked),
        sum_of(t.face_value_fen),
        sum_of(t.redeemable_fen),
        sum_of(t.paid_fen),
    ]


def _tallies(dimension: str, scope: Scope | None) -> sa.Select[Any]:
    """The tally rows of one dimension: all, or those of schemes in regions within ``scope``."""
    stmt = (
        sa.select()
        .select_from(VoucherTally)
        .join(Scheme, Scheme.id == VoucherTally.scheme_id)
        .where(VoucherTally.dimension == dimension)
    )
    return stmt if scope is None else within_scope(stmt, scope, region=VoucherTally.region_code)


def totals(session: Session, scope: Scope | None = None) -> Counts:
    row = session.execute(_tallies("scheme", scope).add_columns(*_measures())).one()
    return Counts("all", "all", *(int(v) for v in row))


def breakdown(session: Session, dimension: str, scope: Scope | None = None) -> list[Counts]:
    """Counts grouped by region (holder's home region), scheme, target_group, institution or
    month (of issue, in Asia/Shanghai)."""
    t = VoucherTally
    key: Any
    label: Any
    if dimension == "region":
        base = _tallies("holder_region", scope).join(Region, Region.code == t.holder_region)
        key, label = t.holder_region, Region.name
    elif dimension == "scheme":
        base = _tallies("scheme", scope)
        key, label = Scheme.code, Scheme.name
    elif dimension == "target_group":
        base = _tallies("target_group", scope)
        key = label = t.target_group
    elif dimension == "institution":
        base = _tallies("institution", scope).join(Institution, Institution.id == t.institution_id)
        key, label = Institution.credit_code, Institution.name
    elif dimension == "month":
        base = _tallies("scheme", scope)
        key = label = t.issued_in
    else:
        raise ValueError(f"unknown dimension {dimension}")
    measures = _measures()
    stmt = (
        base.add_columns(key, label, *measures)
        .group_by(key, label)
        # A key whose vouchers all moved elsewhere (an enrolment cancelled) counts nothing.
        .having(measures[0] != 0)
        .order_by(key)
    )
    return [
        Counts(str(k), str(lab), *(int(v) for v in rest)) for k, lab, *rest in session.execute(stmt)
    ]


def _ledger_tallies(scope: Scope | None) -> sa.Select[Any]:
    stmt = sa.select().select_from(LedgerTally)
    if scope is None:
        return stmt
    regions = within_scope(sa.select(Region.code), scope, region=Region.code)
    return stmt.where(LedgerTally.region_code.in_(regions))


def _ledger_sums(session: Session, scope: Scope | None, key: Any, measure: Any) -> dict[str, int]:
    stmt = _ledger_tallies(scope).add_columns(key, sum_of(measure)).group_by(key)
    return {str(k): int(s) for k, s in session.execute(stmt)}


def ledger_balances(session: Session, scope: Scope | None = None) -> dict[Account, int]:
    """Balance of every bucket, over the regions within ``scope`` (or all)."""
    found = _ledger_sums(session, scope, LedgerTally.account, LedgerTally.amount_fen)
    return {account: found.get(account.value, 0) for account in Account}


def ledger_kind_totals(session: Session, scope: Scope | None = None) -> dict[JournalKind, int]:
    """Total moved by each journal kind (the positive side of its postings)."""
    found = _ledger_sums(session, scope, LedgerTally.kind, LedgerTally.positive_fen)
    return {kind: found.get(kind.value, 0) for kind in JournalKind}
