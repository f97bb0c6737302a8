"""Splitting a quota into stripes never loses or invents a place."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillvoucher.domain.quota_stripes import STRIPES, fill, home_stripe, split


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=200))
def test_split_keeps_the_total_and_differs_by_at_most_one(total: int, parts: int) -> None:
    shares = split(total, parts)
    assert len(shares) == parts
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


@given(st.integers(min_value=0, max_value=5000), st.data())
def test_fill_counts_every_place_taken_and_never_overfills(total: int, data: st.DataObject) -> None:
    quotas = split(total, STRIPES)
    taken = data.draw(st.integers(min_value=0, max_value=total))
    counts = fill(taken, quotas)
    assert sum(counts) == taken
    assert all(0 <= c <= q for c, q in zip(counts, quotas, strict=True))


def test_fill_refuses_more_places_than_the_quota() -> None:
    with pytest.raises(ValueError, match="exceed the quota"):
        fill(11, split(10))


def test_a_person_always_starts_at_the_same_stripe() -> None:
    person = uuid.uuid4()
    assert home_stripe(person) == home_stripe(person)
    assert 0 <= home_stripe(person) < STRIPES
