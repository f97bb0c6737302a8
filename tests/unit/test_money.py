import itertools

from hypothesis import given
from hypothesis import strategies as st

from skillvoucher.domain.money import format_yuan, split_by_percent, yuan_string


@st.composite
def percent_lists(draw: st.DrawFn) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(0, 100), max_size=5)))
    bounds = [0, *cuts, 100]
    return [b - a for a, b in itertools.pairwise(bounds)]


@given(total=st.integers(0, 10**12), percents=percent_lists())
def test_split_never_loses_or_invents_a_fen(total: int, percents: list[int]) -> None:
    parts = split_by_percent(total, percents)
    assert sum(parts) == total
    for part, percent in zip(parts, percents, strict=True):
        assert abs(part * 100 - total * percent) < 100  # within one fen of the exact share


def test_split_gives_leftover_fen_to_largest_remainder() -> None:
    assert split_by_percent(101, [30, 70]) == [30, 71]
    assert split_by_percent(1, [50, 50]) == [1, 0]
    assert split_by_percent(99_999, [33, 33, 34]) == [33_000, 33_000, 33_999]


def test_split_refuses_percents_that_do_not_make_a_whole() -> None:
    import pytest

    with pytest.raises(ValueError, match="add up to 100"):
        split_by_percent(100, [30, 60])


def test_yuan_rendering() -> None:
    assert format_yuan(123_456) == "1,234.56"
    assert format_yuan(-5) == "-0.05"
    assert yuan_string(100_000_001) == "1000000.01"
