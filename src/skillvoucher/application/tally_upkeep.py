"""Keeping the statistics tallies small: fold their differences into one row per key."""

from __future__ import annotations

from skillvoucher.application.context import AppContext
from skillvoucher.persistence.tally_folding import fold, reclaim


def fold_tallies(ctx: AppContext) -> dict[str, tuple[int, int]]:
    """Fold every tally table in one transaction; the rows of each (before, after). Safe to
    run at any time and from several processes at once: no figure changes."""
    with ctx.unit_of_work() as uow:
        counts = fold(uow.session)
        uow.commit()
    reclaim(ctx.engine)
    return counts
