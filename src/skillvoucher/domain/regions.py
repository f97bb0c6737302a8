"""Administrative regions by their GB/T 2260 six-digit codes.

A code is ``PPCCXX``: ``PP`` the province, ``CC`` the prefecture-level city (``00`` for the
province itself) and ``XX`` the county-level division (``00`` for the city itself). The hierarchy
is read from the digits alone, so scoping checks need no table look-up.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import TextIO

from skillvoucher.domain.errors import InvalidRegionCode
from skillvoucher.domain.row_problems import RowProblem

# First two digits of every provincial-level division in GB/T 2260 (mainland, then Taiwan,
# Hong Kong and Macao). Resident ID numbers use the same prefixes.
PROVINCIAL_PREFIXES: frozenset[str] = frozenset(
    [
        *(str(n) for n in range(11, 16)),
        *(str(n) for n in range(21, 24)),
        *(str(n) for n in range(31, 38)),
        *(str(n) for n in range(41, 47)),
        *(str(n) for n in range(50, 55)),
        *(str(n) for n in range(61, 66)),
        "71",
        "81",
        "82",
    ]
)

CSV_COLUMNS = ("code", "name", "name_en")
# The widths of the regions table's name columns.
MAX_NAME_CHARS = 60
MAX_NAME_EN_CHARS = 80


class RegionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    name_en: str
    level: RegionLevel
    parent_code: str | None


NATIONWIDE = "000000"
"""Not a region: the code audit events carry when what happened belongs to no one region
(a nationwide account, say)."""


def validate_region_code(code: str) -> str:
    """Return ``code`` without surrounding spaces if it is a well-formed GB/T 2260 code.

    Raises ``InvalidRegionCode`` unless it is six ASCII digits starting with a provincial
    prefix, and a county part (last two digits) comes with a city part (middle two digits).
    """
    text = code.strip()
    if len(text) != 6 or not (text.isascii() and text.isdigit()):
        raise InvalidRegionCode(f"region code {text!r} must be six digits")
    if text[:2] not in PROVINCIAL_PREFIXES:
        raise InvalidRegionCode(f"region code {text}: {text[:2]} is not a provincial-level code")
    if text[2:4] == "00" and text[4:] != "00":
        raise InvalidRegionCode(f"region code {text} has a county part but no city part")
    return text


def region_level(code: str) -> RegionLevel:
    """Level of a valid code: ``XX0000`` province, ``XXXX00`` city, anything else county."""
    code = validate_region_code(code)
    if code[2:] == "0000":
        return RegionLevel.PROVINCE
    if code[4:] == "00":
        return RegionLevel.CITY
    return RegionLevel.COUNTY


def parent_code(code: str) -> str | None:
    """The code one level up (county → city, city → province), or None for a province."""
    level = region_level(code)
    code = code.strip()
    if level is RegionLevel.PROVINCE:
        return None
    if level is RegionLevel.CITY:
        return code[:2] + "0000"
    return code[:4] + "00"


def province_code(code: str) -> str:
    """The ``XX0000`` code of the province that contains ``code`` (a province is its own)."""
    return validate_region_code(code)[:2] + "0000"


def ancestors(code: str) -> list[str]:
    """``code`` itself followed by each enclosing region up to its province."""
    chain = [validate_region_code(code)]
    while (parent := parent_code(chain[-1])) is not None:
        chain.append(parent)
    return chain


def is_within(code: str, scope: str) -> bool:
    """True when ``code`` is ``scope`` or lies below it (a county within its city or province)."""
    return validate_region_code(scope) in ancestors(code)


def parse_regions_csv(stream: TextIO) -> Iterator[Region | RowProblem]:
    """Read a ``code,name,name_en`` CSV, yielding a ``Region`` per good row and a
    ``RowProblem`` (with the 1-based line where the row starts) per bad one.

    Blank lines are skipped; ``name_en`` may be empty. A missing header or unreadable CSV
    yields one problem and stops, since no later row could be trusted.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        yield RowProblem(line=1, reason=f"unreadable CSV: {exc}")
        return
    columns = [cell.strip().lstrip("\ufeff").strip().lower() for cell in header or []]
    if header is None or not any(columns):
        yield RowProblem(line=1, reason="header missing: the file is empty")
        return
    missing = [name for name in CSV_COLUMNS if name not in columns]
    if missing:
        reason = f"header missing column(s) {', '.join(missing)}"
        if columns[0].isdigit():
            reason = "header missing: the first line looks like data"
        yield RowProblem(line=1, reason=f"{reason}; expected {','.join(CSV_COLUMNS)}")
        return
    code_at, name_at, name_en_at = (columns.index(name) for name in CSV_COLUMNS)
    first_seen: dict[str, int] = {}
    end_of_previous = reader.line_num
    while True:
        line = end_of_previous + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowProblem(line=line, reason=f"unreadable CSV: {exc}")
            return
        end_of_previous = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            reason = f"expected {len(columns)} columns, found {len(row)}"
            key = row[code_at].strip() if code_at < len(row) else ""
            yield RowProblem(line=line, reason=reason, key=key or None)
            continue
        raw_code = row[code_at].strip()
        try:
            code = validate_region_code(raw_code)
        except InvalidRegionCode as exc:
            yield RowProblem(line=line, reason=exc.message, key=raw_code or None)
            continue
        name = row[name_at].strip()
        if not name:
            yield RowProblem(line=line, reason="name is missing", key=code)
            continue
        name_en = row[name_en_at].strip()
        if len(name) > MAX_NAME_CHARS or len(name_en) > MAX_NAME_EN_CHARS:
            reason = f"name may have {MAX_NAME_CHARS}, name_en {MAX_NAME_EN_CHARS} characters"
            yield RowProblem(line=line, reason=reason, key=code)
            continue
        if "\x00" in name + name_en:
            yield RowProblem(line=line, reason="a name holds a NUL character", key=code)
            continue
        if code in first_seen:
            reason = f"duplicate code {code} (first on line {first_seen[code]})"
            yield RowProblem(line=line, reason=reason, key=code)
            continue
        first_seen[code] = line
        yield Region(
            code=code,
            name=name,
            name_en=name_en,
            level=region_level(code),
            parent_code=parent_code(code),
        )


@functools.cache
def _load_builtin_regions() -> tuple[Region, ...]:
    text = resources.files("skillvoucher.data").joinpath("regions.csv").read_text(encoding="utf-8")
    rows = list(parse_regions_csv(io.StringIO(text)))
    problems = [row for row in rows if isinstance(row, RowProblem)]
    if problems:
        # The file ships inside the package: a bad row is a packaging bug, not user input.
        first = problems[0]
        raise RuntimeError(f"regions.csv line {first.line}: {first.reason}")
    return tuple(row for row in rows if isinstance(row, Region))


def builtin_regions() -> list[Region]:
    """The regions shipped with the package: all 31 mainland provincial-level divisions, the
    prefecture-level cities of Shanxi and some districts of Taiyuan, in file order."""
    return list(_load_builtin_regions())


def code_prefix(code: str) -> str:
    """The leading digits every code within ``code`` shares (``14`` for Shanxi, ``1401`` for
    Taiyuan, the whole code for a county): a region scope as a string prefix."""
    level = region_level(code)
    if level is RegionLevel.PROVINCE:
        return code[:2]
    if level is RegionLevel.CITY:
        return code[:4]
    return code
