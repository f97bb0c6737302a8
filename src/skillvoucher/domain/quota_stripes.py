"""A first-come quota split into stripes, so that claims do not all queue for one counter.

Each stripe holds part of the quota and counts the places taken from it. A claimant starts at
their home stripe (fixed by their person id) and takes the nearest stripe with a place left,
going round in stripe order; the quota is exhausted only when every stripe is full.
"""

from __future__ import annotations

import uuid

STRIPES = 32
"""Enough that 64 concurrent claimants rarely meet on one stripe; few enough that reading every
stripe's count (one page) costs no more than reading one row."""


def split(total: int, parts: int = STRIPES) -> list[int]:
    """``total`` in ``parts`` shares differing by at most one, the larger ones first."""
    if total < 0 or parts <= 0:
        raise ValueError(f"cannot split {total} into {parts} parts")
    share, extra = divmod(total, parts)
    return [share + (1 if i < extra else 0) for i in range(parts)]


def fill(taken: int, quotas: list[int]) -> list[int]:
    """Places already taken (before the stripes existed) counted against the stripes in order,
    each up to its quota."""
    if taken > sum(quotas):
        raise ValueError(f"{taken} places taken exceed the quota of {sum(quotas)}")
    counts = []
    for quota in quotas:
        here = min(quota, taken)
        counts.append(here)
        taken -= here
    return counts


def home_stripe(person_id: uuid.UUID, stripes: int = STRIPES) -> int:
    """The stripe a person tries first: the same for every claim of theirs."""
    return person_id.int % stripes
