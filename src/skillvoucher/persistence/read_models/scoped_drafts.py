"""A draft scheme, locked for its editor's change, if it lies within the caller's region."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Scheme


def scheme_for_update(session: Session, scope: Scope, code: str) -> Scheme | None:
    """The scheme with ``code`` within ``scope``, its row locked (PostgreSQL; SQLite serialises
    writers) until the transaction ends; None alike for missing and hidden."""
    stmt = within_scope(
        sa.select(Scheme).where(Scheme.code == code), scope, region=Scheme.region_code
    ).with_for_update()
    found: Scheme | None = session.scalars(stmt).first()
    return found
