from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.schemes import SchemeStatus
from skillvoucher.persistence.repositories.dialect import plain_update, rows_changed
from skillvoucher.persistence.repositories.quota_stripes import QuotaStripes
from skillvoucher.persistence.tables import Scheme, SchemeCode


class SchemeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.stripes = QuotaStripes(session)
        """The first-come quota's stripes, which claims take places from."""

    def add(self, scheme: Scheme) -> None:
        """Store a new scheme and claim its code for the nation: a code taken in another
        province fails here as it would on the scheme's own row."""
        self._session.add(scheme)
        self._session.add(
            SchemeCode(code=scheme.code, province_code=scheme.province_code, scheme_id=scheme.id)
        )
        self._session.flush()

    def by_code(self, code: str) -> Scheme | None:
        return self._session.scalars(sa.select(Scheme).where(Scheme.code == code)).first()

    def by_code_for_update(self, code: str) -> Scheme | None:
        """The scheme, its row locked until the transaction ends (PostgreSQL; SQLite serialises
        writers), read afresh even if this session had loaded it."""
        stmt = (
            sa.select(Scheme)
            .where(Scheme.code == code)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self._session.scalars(stmt).first()

    def get(self, scheme_id: uuid.UUID) -> Scheme | None:
        return self._session.get(Scheme, scheme_id)

    def all(self) -> list[Scheme]:
        return list(self._session.scalars(sa.select(Scheme).order_by(Scheme.code)))

    def reserve_quota(self, scheme_id: uuid.UUID, wanted: int) -> int:
        """Take up to ``wanted`` places from the quota of an active scheme; returns how many.

        One conditional UPDATE on the scheme row: under concurrency PostgreSQL re-checks the
        condition against the latest row version, so the quota is never oversold. The budget
        is guarded separately by the ledger's commitment posting.
        """
        if wanted <= 0:
            return 0
        remaining = self._session.scalar(
            sa.select(Scheme.quota - Scheme.issued_count).where(Scheme.id == scheme_id)
        )
        take = min(wanted, max(int(remaining or 0), 0))
        while take > 0:
            changed = rows_changed(
                self._session,
                plain_update(Scheme)
                .where(
                    Scheme.id == scheme_id,
                    Scheme.status == SchemeStatus.ACTIVE,
                    Scheme.issued_count + take <= Scheme.quota,
                )
                .values(issued_count=Scheme.issued_count + take),
            )
            if changed == 1:
                return take
            # Someone else took places meanwhile: look again at what is left.
            remaining = self._session.scalar(
                sa.select(Scheme.quota - Scheme.issued_count).where(Scheme.id == scheme_id)
            )
            take = min(take, max(int(remaining or 0), 0))
        return 0

    def count_issued(self, scheme_id: uuid.UUID) -> bool:
        """Count one voucher issued by a claim that took a place from a stripe: one conditional
        UPDATE, which also refuses, whatever the stripes say, to pass the quota or to issue
        from a scheme no longer active."""
        return (
            rows_changed(
                self._session,
                plain_update(Scheme)
                .where(
                    Scheme.id == scheme_id,
                    Scheme.status == SchemeStatus.ACTIVE,
                    Scheme.issued_count < Scheme.quota,
                )
                .values(issued_count=Scheme.issued_count + 1),
            )
            == 1
        )

    def set_status(self, scheme_id: uuid.UUID, status: SchemeStatus) -> None:
        self._session.execute(
            plain_update(Scheme).where(Scheme.id == scheme_id).values(status=status)
        )

    def add_budget(self, scheme_id: uuid.UUID, amount_fen: int) -> None:
        """Raise the budget by an SQL expression: concurrent top-ups all count."""
        stmt = (
            plain_update(Scheme)
            .where(Scheme.id == scheme_id)
            .values(budget_fen=Scheme.budget_fen + amount_fen)
        )
        self._session.execute(stmt)
