"""Vouchers as a principal may see them: one scoped statement behind every look-up and search.

Enterprise HR is narrowed to vouchers of enterprise schemes held by their own employees (the
holder's registered employer), never to an employee's individual vouchers; vouchers do not
record the requesting enterprise, and the eligibility rule ties an enterprise voucher to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.schemes import SchemeType
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Person, Scheme, Voucher


@dataclass(frozen=True)
class VoucherRow:
    voucher_id: uuid.UUID
    status: VoucherStatus
    scheme_code: str
    region_code: str
    face_value_fen: int
    issued_at: datetime
    valid_until: datetime
    holder_id_masked: str
    institution_id: uuid.UUID | None


@dataclass(frozen=True)
class VoucherQuery:
    scheme_code: str | None = None
    status: VoucherStatus | None = None
    region_prefix: str | None = None
    institution_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None


def _scoped(scope: Scope, *columns: Any) -> sa.Select[Any]:
    stmt = (
        sa.select(*columns)
        .join(Scheme, Scheme.id == Voucher.scheme_id)
        .join(Person, Person.id == Voucher.person_id)
    )
    if scope.employer_credit_code is not None:
        stmt = stmt.where(Scheme.type == SchemeType.ENTERPRISE)
    return within_scope(
        stmt,
        scope,
        region=Voucher.region_code,
        person=Voucher.person_id,
        institution=Voucher.institution_id,
        employer=Person.employer_credit_code,
    )


def voucher_in_scope(session: Session, scope: Scope, voucher_id: uuid.UUID) -> Voucher | None:
    """The voucher, if it exists and ``scope`` may see it; None alike for missing and hidden."""
    return session.scalars(_scoped(scope, Voucher).where(Voucher.id == voucher_id)).first()


def search_vouchers(
    session: Session, scope: Scope, query: VoucherQuery, after: uuid.UUID | None, limit: int
) -> list[VoucherRow]:
    """Vouchers ``scope`` may see that match ``query``, in id order (uuid7: issue order), for
    keyset pagination after ``after``. A filter outside the scope simply matches nothing."""
    stmt = _scoped(
        scope,
        Voucher.id,
        Voucher.status,
        Scheme.code,
        Voucher.region_code,
        Voucher.face_value_fen,
        Voucher.issued_at,
        Voucher.valid_until,
        Person.id_masked,
        Voucher.institution_id,
    )
    if query.scheme_code is not None:
        stmt = stmt.where(Scheme.code == query.scheme_code)
    if query.status is not None:
        stmt = stmt.where(Voucher.status == query.status)
    if query.region_prefix:
        stmt = stmt.where(Voucher.region_code.startswith(query.region_prefix, autoescape=True))
    if query.institution_id is not None:
        stmt = stmt.where(Voucher.institution_id == query.institution_id)
    if query.person_id is not None:
        stmt = stmt.where(Voucher.person_id == query.person_id)
    if after is not None:
        stmt = stmt.where(Voucher.id > after)
    return [VoucherRow(*row) for row in session.execute(stmt.order_by(Voucher.id).limit(limit))]
