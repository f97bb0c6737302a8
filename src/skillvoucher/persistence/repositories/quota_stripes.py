"""The stripes of first-come quotas (``domain/quota_stripes.py``): read in one statement, a
place taken by one conditional UPDATE of one stripe, and the scheme's gate row counting the
stripes still open."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.quota_stripes import STRIPES, fill, split
from skillvoucher.persistence.repositories.dialect import plain_update, upsert_insert
from skillvoucher.persistence.tables import Scheme, SchemeQuotaGate, SchemeQuotaStripe

Stripe = SchemeQuotaStripe
Gate = SchemeQuotaGate


@dataclass(frozen=True)
class GateCount:
    open_stripes: int
    """Stripes with a place left."""
    quota: int
    """The stripes' shares added up: below the scheme's quota before its first claim lays the
    stripes out, and after a raise until the next claim spreads it over them."""

    def closed(self, scheme_quota: int) -> bool:
        """No place left anywhere, and nothing of the scheme's quota left to lay out."""
        return self.open_stripes == 0 and self.quota >= scheme_quota


class QuotaStripes:
    def __init__(self, session: Session) -> None:
        self._session = session

    def nearest_open(self, scheme_id: uuid.UUID, home: int) -> int | None:
        """The stripe with a place left nearest ``home`` going round, or None if every stripe
        is full (or the scheme has none yet). A read without a lock."""
        found = self._session.scalar(_nearest_open(scheme_id, home))
        return None if found is None else int(found)

    def gate(self, scheme_id: uuid.UUID) -> GateCount:
        """The scheme's gate row: one row, read without a lock (nothing laid out: 0 and 0)."""
        found = self._session.execute(
            sa.select(Gate.open_stripes, Gate.quota).where(Gate.scheme_id == scheme_id)
        ).first()
        return GateCount(0, 0) if found is None else GateCount(*map(int, found))

    def gates_at_odds(self) -> dict[uuid.UUID, tuple[GateCount, GateCount]]:
        """Schemes whose gate row does not count their stripes: (gate row, stripes' count)."""
        counted = {
            row.scheme_id: GateCount(int(row.open_stripes), int(row.quota))
            for row in self._session.execute(
                sa.select(
                    Stripe.scheme_id,
                    sa.func.sum(sa.case((Stripe.taken < Stripe.quota, 1), else_=0)).label(
                        "open_stripes"
                    ),
                    sa.func.sum(Stripe.quota).label("quota"),
                ).group_by(Stripe.scheme_id)
            )
        }
        gates = {
            row.scheme_id: GateCount(row.open_stripes, row.quota)
            for row in self._session.execute(
                sa.select(Gate.scheme_id, Gate.open_stripes, Gate.quota)
            )
        }
        nothing = GateCount(0, 0)
        return {
            scheme: (gates.get(scheme, nothing), counted.get(scheme, nothing))
            for scheme in gates.keys() | counted.keys()
            if gates.get(scheme) != counted.get(scheme)
        }

    def take(self, scheme_id: uuid.UUID, stripe: int) -> bool:
        """One place from ``stripe`` if it has one left. Under concurrency PostgreSQL waits for
        the stripe's row lock and re-checks the condition on the latest version, so a stripe
        is never overfilled; the lock is held until the claim's transaction ends. The claim
        that takes a stripe's last place closes it on the gate row, in the same transaction:
        so the gate counts exactly the stripes open as of its last commit (a rolled-back claim
        reopens both together). One statement on PostgreSQL; two on SQLite, which has no
        UPDATE inside a WITH and serialises writers anyway."""
        taken = (
            plain_update(Stripe)
            .where(
                Stripe.scheme_id == scheme_id, Stripe.stripe == stripe, Stripe.taken < Stripe.quota
            )
            .values(taken=Stripe.taken + 1)
            .returning((Stripe.taken >= Stripe.quota).label("filled"))
        )
        close = plain_update(Gate).where(Gate.scheme_id == scheme_id)
        close = close.values(open_stripes=Gate.open_stripes - 1)
        if self._session.get_bind().dialect.name == "postgresql":
            took = taken.cte("took")
            closed = close.where(sa.select(took.c.filled).scalar_subquery()).returning(
                Gate.scheme_id
            )
            both = sa.select(took.c.filled).add_cte(closed.cte("closed"))
            return self._session.execute(both).scalar() is not None
        filled = self._session.execute(taken).scalar()
        if filled:
            self._session.execute(close)
        return filled is not None

    def lay_out(self, scheme_id: uuid.UUID, province: str, quota: int) -> None:
        """Create the scheme's stripes (counting the places its counter already shows taken),
        or spread a raised quota over them, so that their shares add up to ``quota``; the
        gate row follows.

        Only to spread a raised quota does it lock the stripes (all, in stripe order, before
        changing any, then the gate row: the order a claim that fills a stripe locks them);
        creating them takes no lock on existing rows.
        """
        issued = self._session.scalar(sa.select(Scheme.issued_count).where(Scheme.id == scheme_id))
        quotas = split(quota)
        counts = fill(min(int(issued or 0), quota), quotas)
        create = (
            upsert_insert(self._session, Stripe)
            .values(
                [
                    {
                        "scheme_id": scheme_id,
                        "province_code": province,
                        "stripe": i,
                        "quota": q,
                        "taken": t,
                    }
                    for i, (q, t) in enumerate(zip(quotas, counts, strict=True))
                ]
            )
            .on_conflict_do_nothing(index_elements=["scheme_id", "stripe", "province_code"])
        )
        self._session.execute(create)
        gate = (
            upsert_insert(self._session, Gate)
            .values(
                scheme_id=scheme_id,
                province_code=province,
                open_stripes=sum(1 for q, t in zip(quotas, counts, strict=True) if t < q),
                quota=quota,
            )
            .on_conflict_do_nothing(index_elements=["scheme_id", "province_code"])
        )
        self._session.execute(gate)
        if self.gate(scheme_id).quota >= quota:
            return  # laid out already, by this claim or a concurrent one: nothing to lock
        shares = self._session.execute(
            sa.select(Stripe.stripe, Stripe.quota, Stripe.taken)
            .where(Stripe.scheme_id == scheme_id)
            .order_by(Stripe.stripe)
            .with_for_update()
        ).all()
        missing = quota - sum(share.quota for share in shares)
        if missing <= 0:
            return
        raised = [
            (share.stripe, share.quota + extra, share.taken)
            for share, extra in zip(shares, split(missing, len(shares)), strict=True)
        ]
        for stripe, share, _ in raised:
            self._session.execute(
                plain_update(Stripe)
                .where(Stripe.scheme_id == scheme_id, Stripe.stripe == stripe)
                .values(quota=share)
            )
        # Counted from the rows as locked: no claim is between filling a stripe and closing
        # it on the gate, since it holds that stripe's lock until it commits.
        self._session.execute(
            plain_update(Gate)
            .where(Gate.scheme_id == scheme_id)
            .values(
                open_stripes=sum(1 for _, share, taken in raised if taken < share),
                quota=sum(share for _, share, _ in raised),
            )
        )


def _nearest_open(scheme_id: uuid.UUID, home: int) -> sa.Select[Any]:
    # Ordered by how far a stripe lies from ``home`` going round (0 for ``home`` itself).
    return (
        sa.select(Stripe.stripe)
        .where(Stripe.scheme_id == scheme_id, Stripe.taken < Stripe.quota)
        .order_by((Stripe.stripe - home + STRIPES) % STRIPES)
        .limit(1)
    )
