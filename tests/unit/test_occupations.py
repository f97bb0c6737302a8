"""Occupation codes and the shipped occupation list."""

from __future__ import annotations

import pytest

from skillvoucher.domain.errors import InvalidInput
from skillvoucher.domain.occupations import (
    Occupation,
    builtin_occupations,
    validate_occupation_code,
)


@pytest.mark.parametrize("code", ["6-18-02-04", " 4-10-01-05 "])
def test_valid_codes(code: str) -> None:
    assert validate_occupation_code(code) == code.strip()


@pytest.mark.parametrize(
    "code", ["", "6-18-02", "6-18-02-4", "61-8-02-04", "6/18/02/04", "6-18-02-04-01", "６-18-02-04"]
)
def test_invalid_codes(code: str) -> None:
    with pytest.raises(InvalidInput, match="must look like 6-18-02-04"):
        validate_occupation_code(code)


def test_builtin_occupations_are_well_formed_and_unique() -> None:
    occupations = builtin_occupations()
    assert len(occupations) >= 25
    codes = [o.code for o in occupations]
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)
    assert len({o.name for o in occupations}) == len(occupations)
    for occupation in occupations:
        assert validate_occupation_code(occupation.code) == occupation.code
        assert occupation.name
        assert occupation.name_en


@pytest.mark.parametrize(
    "expected",
    [
        Occupation("6-18-02-04", "焊工", "Welder"),
        Occupation("6-31-01-03", "电工", "Electrician"),
        Occupation("4-03-02-01", "中式烹调师", "Chinese cuisine cook"),
        Occupation("4-10-01-05", "养老护理员", "Elderly care worker"),
        Occupation("4-10-01-06", "家政服务员", "Domestic service worker"),
        Occupation("4-01-02-07", "互联网营销师", "Internet marketer"),
    ],
)
def test_well_known_entries(expected: Occupation) -> None:
    assert expected in builtin_occupations()
