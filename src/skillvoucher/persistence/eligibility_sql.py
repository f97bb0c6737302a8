"""Scheme eligibility compiled to SQL, for bulk targeting and previews.

It must select exactly the people for whom ``domain.schemes.ineligibility_reasons`` is empty;
tests/integration/test_eligibility_paths.py checks the two paths against each other.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa

from skillvoucher.domain.people import CardStatus, groups_to_mask
from skillvoucher.domain.regions import code_prefix
from skillvoucher.domain.schemes import SchemeRules, SchemeType, latest_birth_date_for_age
from skillvoucher.domain.vouchers import OPEN_STATUSES, VoucherStatus
from skillvoucher.persistence.tables import Person, Voucher


def eligibility_condition(
    rules: SchemeRules,
    today: date,
    year_start: datetime,
    enterprise_credit_code: str | None = None,
) -> sa.ColumnElement[bool]:
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
    if elig.max_vouchers_per_year is not None:
        issued_this_year = (
            sa.select(sa.func.count())
            .where(
                Voucher.person_id == Person.id,
                Voucher.issued_at >= year_start,
                Voucher.status != VoucherStatus.REVOKED,
            )
            .scalar_subquery()
        )
        clauses.append(issued_this_year < elig.max_vouchers_per_year)
    if elig.one_active_voucher:
        clauses.append(
            ~sa.exists().where(Voucher.person_id == Person.id, Voucher.status.in_(OPEN_STATUSES))
        )
    if rules.type is SchemeType.ENTERPRISE:
        if enterprise_credit_code is None:
            clauses.append(sa.false())
        else:
            clauses.append(Person.employer_credit_code == enterprise_credit_code)
    return sa.and_(*clauses)


def not_yet_holding(scheme_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """People without a voucher of this scheme (one per person per scheme)."""
    return ~sa.exists().where(Voucher.person_id == Person.id, Voucher.scheme_id == scheme_id)
