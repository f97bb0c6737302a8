"""A scheme as a principal who issues may see it: within their region, or not at all."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Scheme


def scheme_in_scope(session: Session, scope: Scope, code: str) -> Scheme | None:
    """The scheme, if it exists and lies within ``scope``'s region; None alike for missing and
    hidden. A scope narrowed to a person, an institution or an employer sees no scheme here:
    a scheme belongs to none of them."""
    stmt = within_scope(
        sa.select(Scheme).where(Scheme.code == code), scope, region=Scheme.region_code
    )
    return session.scalars(stmt).first()
