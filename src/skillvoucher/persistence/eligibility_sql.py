"""Scheme eligibility compiled to SQL, for bulk targeting and previews.

It must select exactly the people for whom ``domain.schemes.ineligibility_reasons`` is empty;
tests/integration/test_eligibility_paths.py checks the two paths against each other.

The voucher-history rules (``max_vouchers_per_year``, ``one_active_voucher``) are written so
that a planner evaluates them once for the whole table, not once a person: as ``NOT EXISTS``
over the vouchers, which PostgreSQL turns into one hash anti-join (and SQLite into an index
probe per person). A correlated ``(SELECT count(*) …) < n`` instead ran as a subplan for each of
hundreds of thousands of people and kept PostgreSQL from scanning in parallel (docs/performance.md).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa

from skillvoucher.domain.people import CardStatus, groups_to_mask
from skillvoucher.domain.regions import code_prefix
from skillvoucher.domain.schemes import (
    Eligibility,
    SchemeRules,
    SchemeType,
    latest_birth_date_for_age,
)
from skillvoucher.domain.vouchers import OPEN_STATUSES, VoucherStatus
from skillvoucher.persistence.tables import Person, Voucher


def eligibility_condition(
    rules: SchemeRules,
    today: date,
    year_start: datetime,
    enterprise_credit_code: str | None = None,
    people_after: uuid.UUID | None = None,
) -> sa.ColumnElement[bool]:
    """Who ``rules`` select on ``today``. With ``people_after``, only people after that id,
    and the voucher-history rules read only their vouchers (see ``_holders_after``)."""
    elig = rules.eligibility
    clauses: list[sa.ColumnElement[bool]] = [Person.card_status == CardStatus.ACTIVE]
    scopes = elig.household_regions or (rules.region_code,)
    clauses.append(sa.or_(*[Person.household_region.startswith(code_prefix(s)) for s in scopes]))
    if elig.target_groups:
        wanted = groups_to_mask(elig.target_groups)
        clauses.append(Person.target_groups_mask.op("&")(wanted) != 0)
    if elig.excluded_groups:
        excluded = groups_to_mask(elig.excluded_groups)
        clauses.append(Person.target_groups_mask.op("&")(excluded) == 0)
    if elig.min_age is not None:
        clauses.append(Person.birth_date <= latest_birth_date_for_age(today, elig.min_age))
    if elig.max_age is not None:
        clauses.append(Person.birth_date > latest_birth_date_for_age(today, elig.max_age + 1))
    clauses += _history_clauses(elig, year_start, people_after)
    if people_after is not None:
        clauses.append(Person.id > people_after)
    if rules.type is SchemeType.ENTERPRISE:
        if enterprise_credit_code is None:
            clauses.append(sa.false())
        else:
            clauses.append(Person.employer_credit_code == enterprise_credit_code)
    return sa.and_(*clauses)


def _holders_after(people_after: uuid.UUID | None) -> list[sa.ColumnElement[bool]]:
    """The vouchers of people after ``people_after`` only: the same answer for those people,
    but it lets PostgreSQL start reading the vouchers' person index there. Without it, a chunk
    of people after an id was merge-anti-joined with every voucher from the first holder on, so
    each chunk of a push read all the vouchers issued before it (at 10 M people, the push's
    rate fell from 30,000 to 4,800 a second, and kept falling as vouchers accumulated)."""
    return [] if people_after is None else [Voucher.person_id > people_after]


def _history_clauses(
    elig: Eligibility, year_start: datetime, people_after: uuid.UUID | None = None
) -> list[sa.ColumnElement[bool]]:
    """The rules on the person's vouchers, as at most two anti-joins.

    Where one voucher is enough to disqualify (an open one; one this year when the limit is 1)
    the conditions share a single ``NOT EXISTS``, so the vouchers are read and hashed once.
    A limit above 1 needs a count: people reaching it are found by one grouped pass over this
    year's vouchers, and anti-joined.
    """
    counts_this_year = sa.and_(
        Voucher.issued_at >= year_start, Voucher.status != VoucherStatus.REVOKED
    )
    limit = elig.max_vouchers_per_year
    if limit is not None and limit <= 0:
        return [sa.false()]  # nobody has fewer than no vouchers
    one_is_enough: list[sa.ColumnElement[bool]] = []
    if elig.one_active_voucher:
        one_is_enough.append(Voucher.status.in_(OPEN_STATUSES))
    if limit == 1:
        one_is_enough.append(counts_this_year)
    clauses: list[sa.ColumnElement[bool]] = []
    after = _holders_after(people_after)
    if one_is_enough:
        clauses.append(
            ~sa.exists().where(Voucher.person_id == Person.id, sa.or_(*one_is_enough), *after)
        )
    if limit is not None and limit > 1:
        at_limit = (
            sa.select(Voucher.person_id)
            .where(counts_this_year, *after)
            .group_by(Voucher.person_id)
            .having(sa.func.count() >= limit)
            .subquery("at_limit")
        )
        clauses.append(~sa.exists().where(at_limit.c.person_id == Person.id))
    return clauses


def not_yet_holding(
    scheme_id: uuid.UUID, people_after: uuid.UUID | None = None
) -> sa.ColumnElement[bool]:
    """People without a voucher of this scheme (one per person per scheme); with
    ``people_after``, as ``eligibility_condition`` takes it."""
    return ~sa.exists().where(
        Voucher.person_id == Person.id,
        Voucher.scheme_id == scheme_id,
        *_holders_after(people_after),
    )
