"""GB/T 2260 region codes, their hierarchy and the regions CSV loader."""

from __future__ import annotations

import io

import pytest

from skillvoucher.domain.errors import InvalidRegionCode
from skillvoucher.domain.regions import (
    Region,
    RegionLevel,
    ancestors,
    builtin_regions,
    is_within,
    parent_code,
    parse_regions_csv,
    province_code,
    region_level,
    validate_region_code,
)
from skillvoucher.domain.row_problems import RowProblem

TAIYUAN = "140100"
XIAODIAN = "140105"
SHANXI = "140000"


# --- Codes and hierarchy -----------------------------------------------------------------------


@pytest.mark.parametrize("code", ["110000", "140100", "140105", "650000", "469001", " 140100 "])
def test_valid_codes(code: str) -> None:
    assert validate_region_code(code) == code.strip()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("14010", "must be six digits"),
        ("1401000", "must be six digits"),
        ("14010A", "must be six digits"),
        ("１４０１００", "must be six digits"),
        ("", "must be six digits"),
        ("990000", "99 is not a provincial-level code"),
        ("100000", "10 is not a provincial-level code"),
        ("140001", "county part but no city part"),
    ],
)
def test_invalid_codes(code: str, reason: str) -> None:
    with pytest.raises(InvalidRegionCode, match=reason):
        validate_region_code(code)


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        (SHANXI, RegionLevel.PROVINCE, None),
        (TAIYUAN, RegionLevel.CITY, SHANXI),
        (XIAODIAN, RegionLevel.COUNTY, TAIYUAN),
        ("110101", RegionLevel.COUNTY, "110100"),
        ("141100", RegionLevel.CITY, SHANXI),
    ],
)
def test_level_and_parent(code: str, level: RegionLevel, parent: str | None) -> None:
    assert region_level(code) is level
    assert parent_code(code) == parent


def test_province_code_and_ancestors() -> None:
    assert province_code(XIAODIAN) == SHANXI
    assert province_code(SHANXI) == SHANXI
    assert ancestors(XIAODIAN) == [XIAODIAN, TAIYUAN, SHANXI]
    assert ancestors(TAIYUAN) == [TAIYUAN, SHANXI]
    assert ancestors(SHANXI) == [SHANXI]


@pytest.mark.parametrize(
    ("code", "scope", "inside"),
    [
        (XIAODIAN, XIAODIAN, True),
        (XIAODIAN, TAIYUAN, True),
        (XIAODIAN, SHANXI, True),
        (TAIYUAN, SHANXI, True),
        (TAIYUAN, XIAODIAN, False),
        (SHANXI, TAIYUAN, False),
        ("140200", TAIYUAN, False),
        (XIAODIAN, "140200", False),
        (XIAODIAN, "110000", False),
        # Same last four digits in another province must not count.
        ("110105", TAIYUAN, False),
    ],
)
def test_is_within(code: str, scope: str, inside: bool) -> None:
    assert is_within(code, scope) is inside


def test_is_within_validates_both_codes() -> None:
    with pytest.raises(InvalidRegionCode):
        is_within(XIAODIAN, "14")
    with pytest.raises(InvalidRegionCode):
        is_within("990105", SHANXI)


# --- Shipped regions ---------------------------------------------------------------------------


def test_builtin_regions_counts() -> None:
    regions = builtin_regions()
    levels = [r.level for r in regions]
    assert levels.count(RegionLevel.PROVINCE) == 31
    assert levels.count(RegionLevel.CITY) == 11
    assert levels.count(RegionLevel.COUNTY) == 6
    assert len({r.code for r in regions}) == len(regions)


def test_builtin_regions_form_a_tree() -> None:
    codes = {r.code for r in builtin_regions()}
    for region in builtin_regions():
        assert region.parent_code is None or region.parent_code in codes
        assert region.name
        assert region.name_en


def test_every_shanxi_city_is_present() -> None:
    by_code = {r.code: r for r in builtin_regions()}
    cities = {code: r.name for code, r in by_code.items() if r.parent_code == SHANXI}
    assert cities == {
        "140100": "太原市",
        "140200": "大同市",
        "140300": "阳泉市",
        "140400": "长治市",
        "140500": "晋城市",
        "140600": "朔州市",
        "140700": "晋中市",
        "140800": "运城市",
        "140900": "忻州市",
        "141000": "临汾市",
        "141100": "吕梁市",
    }


def test_known_provinces() -> None:
    by_code = {r.code: r for r in builtin_regions()}
    assert (by_code["110000"].name, by_code["110000"].name_en) == ("北京市", "Beijing")
    assert (by_code["140000"].name, by_code["140000"].name_en) == ("山西省", "Shanxi")
    assert (by_code["610000"].name, by_code["610000"].name_en) == ("陕西省", "Shaanxi")
    assert by_code["150000"].name_en == "Inner Mongolia"
    assert by_code["650000"].name == "新疆维吾尔自治区"
    assert by_code[XIAODIAN].name == "小店区"


def test_builtin_regions_returns_a_fresh_list() -> None:
    first = builtin_regions()
    first.clear()
    assert builtin_regions()


# --- CSV loader --------------------------------------------------------------------------------


def parse(text: str) -> list[Region | RowProblem]:
    return list(parse_regions_csv(io.StringIO(text)))


def test_good_file() -> None:
    rows = parse("code,name,name_en\n140000,山西省,Shanxi\n140100,太原市,Taiyuan\n")
    assert rows == [
        Region("140000", "山西省", "Shanxi", RegionLevel.PROVINCE, None),
        Region("140100", "太原市", "Taiyuan", RegionLevel.CITY, "140000"),
    ]


def test_bad_rows_are_reported_with_their_line_numbers() -> None:
    text = (
        "code,name,name_en\n"  # 1
        "140000,山西省,Shanxi\n"  # 2
        "14010,太原市,Taiyuan\n"  # 3 bad code
        "\n"  # 4 blank: skipped
        "140200,,Datong\n"  # 5 missing name
        "140000,山西,Shanxi\n"  # 6 duplicate
        "140300,阳泉市\n"  # 7 too few columns
        "140400,长治市,Changzhi\n"  # 8 good
    )
    rows = parse(text)
    problems = [r for r in rows if isinstance(r, RowProblem)]
    assert [(p.line, p.key) for p in problems] == [
        (3, "14010"),
        (5, "140200"),
        (6, "140000"),
        (7, "140300"),
    ]
    assert "six digits" in problems[0].reason
    assert problems[1].reason == "name is missing"
    assert problems[2].reason == "duplicate code 140000 (first on line 2)"
    assert problems[3].reason == "expected 3 columns, found 2"
    assert [r.code for r in rows if isinstance(r, Region)] == ["140000", "140400"]


def test_line_numbers_count_physical_lines_of_quoted_fields() -> None:
    text = 'code,name,name_en\n140000,"山西\n省",Shanxi\n14x,太原市,Taiyuan\n'
    problems = [r for r in parse(text) if isinstance(r, RowProblem)]
    assert [p.line for p in problems] == [4]


def test_columns_may_come_in_any_order_with_bom_and_empty_english_name() -> None:
    rows = parse("\ufeffname_en,Code,name\r\n,140100,太原市\r\n")
    assert rows == [Region("140100", "太原市", "", RegionLevel.CITY, "140000")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "header missing: the file is empty"),
        ("140000,山西省,Shanxi\n", "header missing: the first line looks like data"),
        ("code,name\n140000,山西省\n", "header missing column(s) name_en"),
    ],
)
def test_missing_header_is_one_problem_on_line_1(text: str, reason: str) -> None:
    rows = parse(text)
    assert len(rows) == 1
    assert isinstance(rows[0], RowProblem)
    assert rows[0].line == 1
    assert rows[0].reason.startswith(reason)
