"""The stripes of first-come quotas (``domain/quota_stripes.py``): read in one statement, a
place taken by one conditional UPDATE of one stripe."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.quota_stripes import STRIPES, fill, split
from skillvoucher.persistence.repositories.dialect import plain_update, rows_changed, upsert_insert
from skillvoucher.persistence.tables import Scheme, SchemeQuotaStripe

Stripe = SchemeQuotaStripe


class QuotaStripes:
    def __init__(self, session: Session) -> None:
        self._session = session

    def nearest_open(self, scheme_id: uuid.UUID, home: int) -> int | None:
        """The stripe with a place left nearest ``home`` going round, or None if every stripe
        is full (or the scheme has none yet). A read without a lock."""
        found = self._session.scalar(_nearest_open(scheme_id, home))
        return None if found is None else int(found)

    def total_quota(self, scheme_id: uuid.UUID) -> int:
        """The stripes' shares added up: 0 before the scheme's first claim lays them out."""
        total = self._session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Stripe.quota), 0)).where(
                Stripe.scheme_id == scheme_id
            )
        )
        return int(total or 0)

    def take_nearest(self, scheme_id: uuid.UUID, home: int) -> bool:
        """One place from the open stripe nearest ``home``, in one statement: the stripe is
        chosen from a snapshot, then its conditional UPDATE re-checks it as ``take`` does.
        False when no stripe has a place, or when the one chosen was filled meanwhile."""
        return self._take_from(scheme_id, _nearest_open(scheme_id, home).scalar_subquery())

    def take(self, scheme_id: uuid.UUID, stripe: int) -> bool:
        """One place from ``stripe`` if it has one left. Under concurrency PostgreSQL waits for
        the stripe's row lock and re-checks the condition on the latest version, so a stripe
        is never overfilled; the lock is held until the claim's transaction ends."""
        return self._take_from(scheme_id, stripe)

    def _take_from(self, scheme_id: uuid.UUID, stripe: int | sa.ScalarSelect[int]) -> bool:
        taken = plain_update(Stripe).where(
            Stripe.scheme_id == scheme_id, Stripe.stripe == stripe, Stripe.taken < Stripe.quota
        )
        return rows_changed(self._session, taken.values(taken=Stripe.taken + 1)) == 1

    def lay_out(self, scheme_id: uuid.UUID, quota: int) -> None:
        """Create the scheme's stripes (counting the places its counter already shows taken),
        or spread a raised quota over them, so that their shares add up to ``quota``.

        Only to spread a raised quota does it lock the stripes (all, in stripe order, before
        changing any); creating them takes no lock on existing rows.
        """
        issued = self._session.scalar(sa.select(Scheme.issued_count).where(Scheme.id == scheme_id))
        quotas = split(quota)
        counts = fill(min(int(issued or 0), quota), quotas)
        create = (
            upsert_insert(self._session, Stripe)
            .values(
                [
                    {"scheme_id": scheme_id, "stripe": i, "quota": q, "taken": t}
                    for i, (q, t) in enumerate(zip(quotas, counts, strict=True))
                ]
            )
            .on_conflict_do_nothing(index_elements=["scheme_id", "stripe"])
        )
        self._session.execute(create)
        if self.total_quota(scheme_id) >= quota:
            return  # laid out already, by this claim or a concurrent one: nothing to lock
        shares = self._session.execute(
            sa.select(Stripe.stripe, Stripe.quota)
            .where(Stripe.scheme_id == scheme_id)
            .order_by(Stripe.stripe)
            .with_for_update()
        ).all()
        missing = quota - sum(share.quota for share in shares)
        if missing <= 0:
            return
        for share, extra in zip(shares, split(missing, len(shares)), strict=True):
            if extra:
                self._session.execute(
                    plain_update(Stripe)
                    .where(Stripe.scheme_id == scheme_id, Stripe.stripe == share.stripe)
                    .values(quota=Stripe.quota + extra)
                )


def _nearest_open(scheme_id: uuid.UUID, home: int) -> sa.Select[Any]:
    # Ordered by how far a stripe lies from ``home`` going round (0 for ``home`` itself).
    return (
        sa.select(Stripe.stripe)
        .where(Stripe.scheme_id == scheme_id, Stripe.taken < Stripe.quota)
        .order_by((Stripe.stripe - home + STRIPES) % STRIPES)
        .limit(1)
    )
