"""Lists of schemes as a principal sees them, narrowed by ``within_scope``. One scheme by code:
``scoped_schemes.scheme_in_scope``."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.schemes import SchemeStatus
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Scheme


def _schemes(scope: Scope) -> sa.Select[Scheme]:
    # A scheme belongs to a region only: a scope narrowed to a person, an institution or an
    # employer sees none (within_scope never fails open).
    return within_scope(sa.select(Scheme), scope, region=Scheme.region_code)


def schemes_page(
    session: Session,
    scope: Scope,
    status: SchemeStatus | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Scheme]:
    """The next ``limit`` schemes after ``after`` in id order (ids are time-ordered)."""
    stmt = _schemes(scope).order_by(Scheme.id).limit(limit)
    if status is not None:
        stmt = stmt.where(Scheme.status == status)
    if after is not None:
        stmt = stmt.where(Scheme.id > after)
    return list(session.scalars(stmt))
