"""The gate of a first-come quota: one claim takes one place, or learns there is none left.

The quota is split into stripes (``domain/quota_stripes.py``), so concurrent claims take
places from different rows instead of queueing for the scheme's one counter. Fairness: a
claimant starts at their home stripe and takes the nearest stripe with a place left, going
round; within a stripe places go in the order PostgreSQL grants its row lock (the order of
arrival). A claim is refused only when it finds every stripe full, and stripes never empty
again (only a rolled-back claim gives its place back, and a claim waiting on that stripe's
lock then takes it), so nobody is refused while a place is left anywhere.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from skillvoucher.domain.quota_stripes import home_stripe
from skillvoucher.persistence.tables import Scheme
from skillvoucher.persistence.unit_of_work import UnitOfWork

_seen_exhausted: set[uuid.UUID] = set()
"""Schemes this process last found with every stripe full. Only a hint of which statement to
send first (the gate row's count, rather than an UPDATE that would find nothing): every answer
still comes from the database, so a process that never saw it, or a raised quota, changes
nothing."""


class ExhaustedQuotas:
    """Schemes this process has found with no place left, remembered for ``seconds``, so that
    a rush's losers (four in five of its requests) are refused before any statement at all.

    Only what the database said is noted (every stripe full, or the scheme's counter at its
    quota: committed facts), and it stays true: a taken place is never given back once
    committed (revoking or expiring a claimed voucher does not reopen it) and a launched
    scheme's quota is never changed by any use case. The time limit is for the one exception,
    an operator raising a quota in the database by hand: each process learns of it within
    ``seconds``. While a scheme is noted, its refusal comes before the person's own checks: a
    claimant who already holds one, or is not in the registry, is told the quota is gone.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._until: dict[str, float] = {}

    def known(self, scheme_code: str) -> bool:
        """Whether this process found ``scheme_code``'s quota gone less than ``seconds`` ago."""
        until = self._until.get(scheme_code)
        return until is not None and self._clock() < until

    def note(self, scheme_code: str) -> None:
        if self._seconds > 0:
            self._until[scheme_code] = self._clock() + self._seconds


def take_place(uow: UnitOfWork, scheme: Scheme, person_id: uuid.UUID) -> bool:
    """Take one place of ``scheme``'s quota in the caller's transaction, or return False. The
    caller then counts the voucher on the scheme (``count_place_taken``) before it commits.

    ``scheme`` is the row as this claim read it: once its committed count has reached the
    quota the claim is refused with no statement at all (the count and the stripes commit
    together, and a raised quota shows in the same row). Otherwise, while places are left, a
    claim costs one UPDATE of its home stripe (two statements for the claim that fills it),
    or a read and an UPDATE of the nearest open one; once the process knows the stripes full,
    one read of the scheme's gate row.
    """
    if scheme.issued_count >= scheme.quota:
        return False
    stripes = uow.schemes.stripes
    if scheme.id in _seen_exhausted:
        if stripes.gate(scheme.id).closed(scheme.quota):
            return False
        _seen_exhausted.discard(scheme.id)
    home = home_stripe(person_id)
    if stripes.take(scheme.id, home):
        return True
    laid_out = False
    while True:
        nearest = stripes.nearest_open(scheme.id, home)
        if nearest is None:
            # Every stripe full, though this claim read the scheme with places left: the last
            # places were taken since (the usual case, in the moments the quota runs out), or
            # this is the scheme's first claim (no stripes yet), or its quota was raised. Only
            # the last two lay places out: laying out locks every stripe, which a rush must
            # not do at the very moment winners hold them.
            if laid_out or stripes.gate(scheme.id).quota >= scheme.quota:
                _seen_exhausted.add(scheme.id)
                return False
            stripes.lay_out(scheme.id, scheme.province_code, scheme.quota)
            laid_out = True
            continue
        if stripes.take(scheme.id, nearest):
            return True
        # Another claim took that stripe's last place meanwhile: look again.


def count_place_taken(uow: UnitOfWork, scheme: Scheme) -> bool:
    """Count a place taken on the scheme's own counter, which refuses on its own to pass the
    quota (so it is never passed even if the stripes were wrong). Called last before commit:
    the scheme row is every winner's to lock (the budget guard takes it too), and it stays
    locked until the transaction ends."""
    return uow.schemes.count_issued(scheme.id)
